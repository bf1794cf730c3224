"""Small programs a newcomer runs against `make run` (README "Try it from the command line")."""
