"""Login and consent pages. They record the user's decision on the interaction; they never
build an OAuth response (that is the authorization endpoint's job when the browser returns)."""
