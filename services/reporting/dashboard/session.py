"""The dashboard's session and CSRF rules, without I/O.

The session cookie carries the bearer token itself (HttpOnly, SameSite=Strict, path
/dashboard), so every page checks it exactly as the API checks a header: signature, expiry
and the revocation list. It lives no longer than the token.

CSRF: every form that changes something (login, logout) carries a random value that must
equal the one in an HttpOnly SameSite=Strict cookie (double submit); a foreign Origin is
refused as well."""

from __future__ import annotations

import hmac
import secrets
import time
from urllib.parse import urlsplit

import jwt

SESSION_COOKIE = "qianshou_session"
CSRF_COOKIE = "qianshou_csrf"
COOKIE_PATH = "/dashboard"
MAX_FORM_BYTES = 16_384


def new_csrf() -> str:
    return secrets.token_urlsafe(32)


def csrf_ok(cookie: str | None, submitted: str | None) -> bool:
    return bool(cookie and submitted) and hmac.compare_digest(str(cookie), str(submitted))


def same_origin(origin: str | None, host: str | None) -> bool:
    """No Origin header (old browsers, same-origin GETs) passes; one naming another host fails."""
    if not origin:
        return True
    if origin == "null":
        return False
    return urlsplit(origin).netloc == (host or "")


def session_seconds(token: str, now: float | None = None) -> int:
    """How long the cookie may live: until the token expires (the signature is checked
    separately, before this)."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return max(0, int(claims.get("exp", 0) - (now or time.time())))


def safe_next(target: str | None) -> str:
    """Where to go after login: only a path under /dashboard (no open redirect)."""
    if target and target.startswith("/dashboard") and "//" not in target and "\\" not in target:
        return target
    return "/dashboard"
