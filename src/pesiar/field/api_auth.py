"""Who is calling the field API: a bearer token (`Authorization: Bearer psr_...`) or the
browser session; the schema and docs open to the same callers only."""

import functools
from datetime import timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from ninja.security import HttpBearer

from pesiar.field.models import (
    ApiToken,
    hash_token,
)


def user_for_token(key: str) -> Any:
    """The active user owning unrevoked token `key`, or None."""
    if not key or len(key) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=hash_token(key), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


def _bearer(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    return key.strip() if scheme.lower() == "bearer" else ""


def signed_in(view):
    """The schema and docs are for signed-in users and token holders only (401 otherwise)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            user = user_for_token(_bearer(request))
            if user is None:
                return JsonResponse({"detail": "Unauthorized"}, status=401)
            request.user = user
        return view(request, *args, **kwargs)

    return wrapped
