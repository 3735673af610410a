"""Alembic environment for the feedback database (append-only revisions in versions/)."""
