"""Named users for the tests that sign in: made on first use with the cast's password."""

from pesiar.accounts.services import ensure_user

PASSWORD = "x-Rahasia-123"


def login(client, username: str, role: str, scopes, **extra):
    """Sign `client` in as `username` (role and scopes as given), made if missing."""
    user = ensure_user(username, role=role, scopes=scopes, password=PASSWORD, **extra)
    client.force_login(user)
    return user
