"""The only package that imports Authlib: the OAuth 2.1 engine and its Starlette bridge."""
