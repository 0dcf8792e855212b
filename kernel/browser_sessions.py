"""Browser sessions: a signed cookie that stands in for the bearer token.

A browser cannot attach ``Authorization: Bearer`` to a page load or a WebSocket, and the token
must never sit in a page or in local storage. So, with ``--token``, a page that has checked the
person (a one-time login code, or the token typed once) hands out a session cookie
(``HttpOnly``, ``SameSite=Strict``); the security guards accept it wherever they accept the
token.

The cookie is stateless: ``v1.<expiry>.<nonce>.<signature>``, the signature an HMAC-SHA256
keyed by a key derived from the token. Every instance of a team server (same token) accepts
the cookies of every other, nothing is stored, and changing the token ends every session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from .timeutil import Clock

COOKIE_NAME = "crosslink_session"
#: How long a browser session lasts.
SESSION_SECONDS = 7 * 24 * 3600
_VERSION = "v1"
_KEY_LABEL = b"crosslink-server browser session key v1"


def _sign(key: bytes, payload: str) -> str:
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class BrowserSessions:
    """Issues and checks session cookie values for one bearer token (none: disabled)."""

    def __init__(self, token: str | None, clock: Clock | None = None) -> None:
        self._key = hmac.new(token.encode(), _KEY_LABEL, hashlib.sha256).digest() if token else None
        self._clock = clock or Clock()

    @property
    def enabled(self) -> bool:
        """Whether the server has a token (without one, nothing needs a session)."""
        return self._key is not None

    def issue(self, seconds: int = SESSION_SECONDS) -> str:
        """A new cookie value, valid for ``seconds``."""
        if self._key is None:
            raise RuntimeError("browser sessions need a bearer token")
        expires = int(self._clock.now().timestamp()) + seconds
        payload = f"{_VERSION}.{expires}.{secrets.token_urlsafe(16)}"
        return f"{payload}.{_sign(self._key, payload)}"

    def is_valid(self, value: str | None) -> bool:
        """Whether ``value`` is a cookie this token signed and that has not expired."""
        if self._key is None or not value or len(value) > 256:
            return False
        payload, _, signature = value.rpartition(".")
        parts = payload.split(".")
        if len(parts) != 3 or parts[0] != _VERSION or not (parts[1].isascii() and parts[1].isdigit()):
            return False
        if not hmac.compare_digest(signature.encode(), _sign(self._key, payload).encode()):
            return False
        return int(parts[1]) > self._clock.now().timestamp()
