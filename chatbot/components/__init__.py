"""Custom Rasa NLU components for Vietnamese (loaded by module path from config.yml)."""
