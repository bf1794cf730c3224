"""HospiAI Connect authorization server: OAuth 2.1 on Authlib, Starlette and SQLModel."""
