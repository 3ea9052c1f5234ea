"""Import every module that defines tables, so Alembic sees the whole schema."""

from portal import models  # noqa: F401
