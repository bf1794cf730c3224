"""Pages for people rather than protocols: the user's account (connected apps, personal access
tokens) and, for admins, the console."""
