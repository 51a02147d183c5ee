"""Apps with chosen access settings and keys made for a test (the fixtures of tests/auth)."""

from tests.auth.conftest import bearer, make_client, make_key

__all__ = ["bearer", "make_client", "make_key"]
