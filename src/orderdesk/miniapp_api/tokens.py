"""Session tokens: `sid` + expiry, signed with SECRET_KEY (itsdangerous, shipped with Flask).

The expiry is checked against `core.clock` (not the signer's own clock) so tests can move time;
the server-side ApiSession row is what makes a token revocable.
"""

from __future__ import annotations

from datetime import datetime

from itsdangerous import BadSignature, URLSafeSerializer

from orderdesk.core import clock

SALT = "orderdesk.api.session.v1"


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=SALT)


def issue(secret_key: str, *, sid: str, expires_at: datetime) -> str:
    return str(_serializer(secret_key).dumps({"sid": sid, "exp": int(expires_at.timestamp())}))


def read(secret_key: str, token: str) -> str | None:
    """The session id of a well-signed, unexpired token; None for anything else."""
    try:
        data = _serializer(secret_key).loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    sid, exp = data.get("sid"), data.get("exp")
    if not isinstance(sid, str) or not isinstance(exp, int):
        return None
    if exp <= clock.now().timestamp():
        return None
    return sid
