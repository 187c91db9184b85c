"""Who is calling, and may they: API keys, roles and scopes, as one FastAPI dependency.

Every caller presents ``Authorization: Bearer <key>``. Keys are long random tokens handed out by
an administrator; the services hold only their SHA-256 (``CHUNFENG_API_KEYS``), so a leaked
configuration or database dump lets nobody in. A fast unsalted hash is enough because the keys
are random (≥128 bits), not passwords: there is nothing to guess from a dictionary.

A key belongs to one principal with one role and a scope:

- ``admin``: everything;
- ``official``: the counties whose adcodes start with one of its ``scope`` prefixes ("4228" is
  恩施州, "422801" 恩施市);
- ``employer``: the postings of the employer whose unified social credit code is its ``scope``;
- ``seeker``: the one profile id in its ``scope``;
- ``gateway``: the SMS gateway, which hands notify the seekers' inbound texts (no scope).

Routes declare *who* may call them with ``Depends(require(Role.official, ...))`` (admins are
always let through); *which records* a principal may touch depends on the record, so the route
asks ``Principal.covers_area`` / ``owns_employer`` / ``is_seeker`` once it has loaded it.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from shared.errors import AUTH_ERRORS
from shared.logging import get_logger

log = get_logger("auth")

_CREDIT_CODE_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
_HEX64_RE = re.compile(r"^[0-9a-f]{64}$")
_AREA_RE = re.compile(r"^\d{2,12}$")


class Role(StrEnum):
    admin = "admin"
    official = "official"
    employer = "employer"
    seeker = "seeker"
    gateway = "gateway"


class KeySpec(BaseModel):
    """One entry of ``CHUNFENG_API_KEYS``: a principal and the hash of its key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=100, description="who: appears in logs and the audit trail")
    role: Role
    key_sha256: str = Field(description="hex SHA-256 of the key; the key itself is never configured")
    scope: tuple[str, ...] = Field(
        default=(), description="official: adcode prefixes; employer: its credit code; seeker: its profile id"
    )

    @model_validator(mode="after")
    def _scope_fits_role(self) -> KeySpec:
        if not _HEX64_RE.match(self.key_sha256):
            raise ValueError(f"{self.id}: key_sha256 must be 64 lowercase hex digits")
        if self.role == Role.official and not (self.scope and all(_AREA_RE.match(p) for p in self.scope)):
            raise ValueError(f"{self.id}: an official's scope is one or more adcode prefixes (2–12 digits)")
        if self.role == Role.employer and not (len(self.scope) == 1 and _CREDIT_CODE_RE.match(self.scope[0])):
            raise ValueError(f"{self.id}: an employer's scope is its one unified social credit code")
        if self.role == Role.seeker and not (len(self.scope) == 1 and self.scope[0]):
            raise ValueError(f"{self.id}: a seeker's scope is its one profile id")
        return self


_SPECS = TypeAdapter(list[KeySpec])


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller. The scope tests are the only place that interprets a scope."""

    id: str
    role: Role
    scope: tuple[str, ...] = ()

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    def covers_area(self, adcode: str | None) -> bool:
        """Admins see every area, officials their prefixes; nobody else gets anything by area."""
        if self.is_admin:
            return True
        if self.role != Role.official or not adcode:
            return False
        return any(adcode.startswith(p) for p in self.scope)

    def owns_employer(self, credit_code: str | None) -> bool:
        if self.is_admin:
            return True
        return self.role == Role.employer and credit_code is not None and credit_code == self.scope[0]

    def is_seeker(self, profile_id: str) -> bool:
        return self.role == Role.seeker and profile_id == self.scope[0]

    @property
    def credit_code(self) -> str | None:
        return self.scope[0] if self.role == Role.employer else None

    @property
    def areas(self) -> tuple[str, ...]:
        return self.scope if self.role == Role.official else ()


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A fresh key: 32 random bytes, URL-safe, prefixed so a leaked one is easy to grep for."""
    return "cf_" + secrets.token_urlsafe(32)


class KeyRing:
    """The configured principals, by key hash. Mutable so ``make run`` can add demo keys late."""

    def __init__(self, specs: Iterable[KeySpec] = ()) -> None:
        self._by_hash: dict[str, Principal] = {}
        for spec in specs:
            self.add(spec)

    def add(self, spec: KeySpec) -> None:
        self._by_hash[spec.key_sha256] = Principal(spec.id, spec.role, tuple(spec.scope))

    def issue(self, id: str, role: Role, scope: Iterable[str] = ()) -> str:
        """Create a principal with a new random key and return the key (shown once, never stored)."""
        key = new_key()
        self.add(KeySpec(id=id, role=role, key_sha256=hash_key(key), scope=tuple(scope)))
        return key

    def authenticate(self, key: str) -> Principal | None:
        # A dict lookup on the key's hash: its timing can only tell an attacker about hashes of
        # keys they already hold, and the hash of an unknown random key is not guessable.
        return self._by_hash.get(hash_key(key))

    def by_hash(self, key_sha256: str) -> Principal | None:
        """The principal of a key known only by its hash: a browser session keeps the hash, never
        the key, and looking it up on every request means revoking the key ends its sessions."""
        return self._by_hash.get(key_sha256)

    def __len__(self) -> int:
        return len(self._by_hash)

    @classmethod
    def from_config(cls, raw: str | None) -> KeyRing:
        """``CHUNFENG_API_KEYS``: a JSON list of key specs, or the path of a file holding one.

        Unset means no keys: every protected route answers 401 (closed by default). A malformed
        value stops the start with a message, rather than silently running open or locked.
        """
        if raw is None or not raw.strip():
            return cls()
        text = raw.strip()
        if not text.startswith("["):
            path = Path(text).expanduser()
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise ValueError(f"CHUNFENG_API_KEYS: cannot read key file {path}: {exc}") from exc
        try:
            specs = _SPECS.validate_python(json.loads(text))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise ValueError(f"CHUNFENG_API_KEYS is not a valid list of keys: {exc}") from exc
        return cls(specs)


def spec_json(entries: Iterable[tuple[str, Role, str, Iterable[str]]]) -> str:
    """``CHUNFENG_API_KEYS`` for (id, role, key, scope) entries: what tools and tests export."""
    return json.dumps(
        [
            {"id": id, "role": str(role), "key_sha256": hash_key(key), "scope": list(scope)}
            for id, role, key, scope in entries
        ]
    )


# --- the FastAPI side ------------------------------------------------------------------------

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="An API key issued by an administrator: `Authorization: Bearer cf_…`",
)


AUTH_RESPONSES = AUTH_ERRORS  # the name the routers already use


def unauthenticated(detail: str, error: str | None = None) -> HTTPException:
    challenge = "Bearer" if error is None else f'Bearer error="{error}"'
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": challenge})


def forbidden(principal: Principal, what: str) -> HTTPException:
    log.warning("access denied", principal=principal.id, role=str(principal.role), what=what)
    return HTTPException(status.HTTP_403_FORBIDDEN, "无权访问")


def hidden(principal: Principal, what: str, detail: str = "不存在") -> HTTPException:
    """A 404 for a record whose very existence the caller must not learn (another seeker's data)."""
    log.warning("access denied (hidden)", principal=principal.id, role=str(principal.role), what=what)
    return HTTPException(status.HTTP_404_NOT_FOUND, detail)


def keyring_of(request: Request) -> KeyRing:
    keyring: KeyRing = request.app.state.keyring
    return keyring


RoleCheck = Callable[..., Awaitable[Principal]]


def require(*roles: Role) -> RoleCheck:
    """A dependency that authenticates the caller and admits the given roles (and admins).

    The returned callable carries ``roles``, so a test can walk every route of every app and
    prove that each one declares its callers.
    """
    admitted = frozenset(roles) | {Role.admin}

    async def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        if credentials is None or not credentials.credentials:
            raise unauthenticated("需要API密钥：Authorization: Bearer <key>")
        principal = keyring_of(request).authenticate(credentials.credentials)
        if principal is None:
            log.warning("unknown API key", path=request.url.path)
            raise unauthenticated("API密钥无效", error="invalid_token")
        if principal.role not in admitted:
            raise forbidden(principal, f"{request.method} {request.url.path}")
        request.state.principal = principal
        return principal

    check.roles = admitted  # type: ignore[attr-defined]
    return check


def declared_roles(dependency: Any) -> frozenset[Role] | None:
    roles = getattr(dependency, "roles", None)
    return roles if isinstance(roles, frozenset) else None


def keyring_for(settings: Any, keyring: KeyRing | None = None) -> KeyRing:
    """The app's key ring: the one given (``make run`` shares one), else the configured keys."""
    if keyring is not None:
        return keyring
    return KeyRing.from_config(getattr(settings, "api_keys", None))


def headers(key: str) -> Mapping[str, str]:
    return {"Authorization": f"Bearer {key}"}
