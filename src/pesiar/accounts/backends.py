from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class LoginThrottleBackend(AxesStandaloneBackend):
    """django-axes login throttling for every login that comes with a request (the login
    page, the admin login, an API token exchange). Authentication without a request comes
    from code on the server (tests, the shell), which no one can brute-force from outside;
    axes itself would refuse it, so it is passed on to the next backend."""

    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> None:
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)
