"""Bearer tokens for the roles of SPEC 3.4: agency, province, admin.

HS256 JWTs. The first configured secret signs; every configured secret verifies, so a key
can be rotated by adding the new one first and dropping the old one later.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Literal

import jwt

from shared.regions import prefix_problem

Role = Literal["agency", "province", "admin"]
ISSUER = "qianshou"
DEFAULT_TTL_S = 30 * 24 * 3600


class TokenError(Exception):
    """The token is missing, malformed, badly signed or expired."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: an agency, a province (by region prefix) or an administrator."""

    role: Role
    agency_id: str | None = None
    region: str | None = None
    token_id: str | None = field(default=None, compare=False)  # jti, for revocation

    @property
    def kind_and_id(self) -> tuple[str, str]:
        """Who submitted an event, as the canonical event records it."""
        return self.role, self.agency_id or self.region or "admin"

    def is_agency(self, agency_id: str | None) -> bool:
        return self.role == "agency" and agency_id is not None and self.agency_id == agency_id

    @property
    def caller(self) -> str:
        """A key for per-caller limits: the agency, the province, or admin."""
        return f"{self.role}:{self.agency_id or self.region or ''}"

    def covers_region(self, region_code: str | None) -> bool:
        """True when this principal may act on data of an agency in `region_code`."""
        if self.role == "admin":
            return True
        if self.role == "province" and self.region and region_code:
            return region_code.startswith(self.region)
        return False

    def may_act_for(self, agency_id: str, agency_region: str | None) -> bool:
        """Write or read on behalf of `agency_id`, whose region may not be known yet."""
        if self.role == "agency":
            return self.agency_id == agency_id
        return self.covers_region(agency_region)


def issue(secret: str, principal: Principal, ttl_s: int = DEFAULT_TTL_S) -> str:
    """A signed token for `principal`, valid for `ttl_s` seconds."""
    if principal.role == "agency" and not principal.agency_id:
        raise ValueError("an agency token needs an agency id")
    if principal.role == "province":
        if not principal.region:
            raise ValueError("a province token needs a region prefix, e.g. --region 22")
        problem = prefix_problem(principal.region)
        if problem:
            raise ValueError(problem)
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": ISSUER,
        "iat": now,
        "exp": now + ttl_s,
        "jti": uuid.uuid4().hex,
        "role": principal.role,
    }
    if principal.agency_id:
        claims["agency"] = principal.agency_id
    if principal.region:
        claims["region"] = principal.region
    return jwt.encode(claims, secret, algorithm="HS256")


def verify(token: str, secrets: tuple[str, ...], allow_expired: bool = False) -> Principal:
    """The principal a token names, or TokenError."""
    last: Exception | None = None
    for secret in secrets:
        try:
            claims = jwt.decode(
                token,
                secret,
                algorithms=["HS256"],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "role"], "verify_exp": not allow_expired},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenError("token expired") from exc
        except jwt.InvalidSignatureError as exc:
            last = exc
            continue
        except jwt.PyJWTError as exc:
            raise TokenError(f"invalid token: {exc}") from exc
        role = claims.get("role")
        if role not in ("agency", "province", "admin"):
            raise TokenError("invalid token: unknown role")
        principal = Principal(
            role=role,
            agency_id=claims.get("agency"),
            region=claims.get("region"),
            token_id=claims.get("jti"),
        )
        if (role == "agency" and not principal.agency_id) or (
            role == "province" and not principal.region
        ):
            raise TokenError("invalid token: role without its scope")
        if role == "province" and prefix_problem(principal.region or ""):
            raise TokenError(f"invalid token: {prefix_problem(principal.region or '')}")
        return principal
    raise TokenError("invalid token: bad signature") from last
