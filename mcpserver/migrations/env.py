"""Alembic's entry point for the MCP server's migrations (see shared/migrations.py)."""

from shared.migrations import run_migrations

run_migrations()
