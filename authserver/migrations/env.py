"""Alembic's entry point for the authorization server's migrations (see shared/migrations.py)."""

from shared.migrations import run_migrations

run_migrations()
