"""Load benchmark of the portal against a bare FastAPI + Jinja2 floor (`make bench`)."""
