"""Login for a server started with ``--token``: one-time login codes and the token form.

The URL printed at startup carries a one-time code (``/login?code=...``). Opening it trades
the code for a session cookie (:mod:`kernel.browser_sessions`: ``HttpOnly``,
``SameSite=Strict``) and redirects to a clean URL; the code is then spent. Someone without a
code types the token into the login form once. The token itself is never put in a page, a
URL or the browser's storage.

Codes live in this instance's memory: they are printed by, and redeemed at, the instance that
made them (a restart prints a new one).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

#: How long a printed login code can be used (once).
CODE_SECONDS = 24 * 3600


def _digest(code: str) -> bytes:
    return hashlib.sha256(code.encode("utf-8", "surrogatepass")).digest()


class LoginCodes:
    """One-time codes: each can be redeemed once, before it expires."""

    def __init__(self, seconds: int = CODE_SECONDS) -> None:
        self.seconds = seconds
        self._codes: dict[bytes, float] = {}

    def issue(self) -> str:
        """A new code (URL-safe, 256 bits)."""
        self._forget_expired()
        code = secrets.token_urlsafe(32)
        self._codes[_digest(code)] = time.monotonic() + self.seconds
        return code

    def redeem(self, code: str | None) -> bool:
        """Spend ``code``; True when it was valid (it is not any more)."""
        self._forget_expired()
        if not code or len(code) > 128:
            return False
        digest = _digest(code)
        for known in list(self._codes):
            if hmac.compare_digest(known, digest):
                del self._codes[known]
                return True
        return False

    def _forget_expired(self) -> None:
        now = time.monotonic()
        for digest, expires in list(self._codes.items()):
            if expires <= now:
                del self._codes[digest]


def token_matches(supplied: str | None, token: str) -> bool:
    """Constant-time comparison of a typed token with the server's."""
    if not supplied:
        return False
    return hmac.compare_digest(supplied.strip().encode(), token.encode())


def safe_next(target: str | None) -> str:
    """Where to go after login: a path on this site, never another origin."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    if any(ord(ch) < 32 for ch in target):
        return "/"
    return target
