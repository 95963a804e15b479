"""The append-only AccessLog's one writer, `log_access(...)`.

Pages, exports and the API show and log personal data through the viewer
(`pesiar.accounts.viewer.Viewer`: masking, birth dates, error texts, `rows()`, `reveal()`),
which calls this; code that reads personal data some other way for a user (DuckDB over Parquet
with `scope_sql`) logs through the viewer too.
"""

from typing import Any

from pesiar.accounts.models import AccessKind, AccessLog
from pesiar.accounts.scoping import get_scope


def log_access(
    user: Any,
    kind: AccessKind | str,
    name: str,
    *,
    rows: int,
    region: str = "",
    full_identifiers: bool = False,
) -> AccessLog:
    """Record that `user` read `rows` personal rows through `kind` (page/export/api/reveal)
    `name` (path or export/API name), with the user's scope at this moment."""
    scope = get_scope(user)
    return AccessLog.objects.create(
        user=user,
        username=user.get_username(),
        kind=AccessKind(kind),
        name=name[:300],
        scope=scope.label[:1000],
        region_code=region,
        rows=rows,
        full_identifiers=full_identifiers,
    )
