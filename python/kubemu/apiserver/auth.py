"""Authentication (bearer tokens, anonymous) and authorization (AlwaysAllow + a hook).

The static token file is kube-apiserver's ``--token-auth-file`` CSV: ``token,user,uid`` and an
optional fourth column of groups (``"group1,group2"``). Authenticated users get the
``system:authenticated`` group, as upstream adds it. ServiceAccount tokens come from a hook
(:class:`TokenAuthenticator` protocol) the token controller will fill.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol

from kubemu.apiserver.request import ANONYMOUS, RequestInfo, UserInfo
from kubemu.objects.errors import StatusError

__all__ = [
    "AlwaysAllow",
    "Authenticator",
    "Authorizer",
    "StaticTokenAuthenticator",
    "TokenAuthenticator",
    "load_token_file",
]


class TokenAuthenticator(Protocol):
    def authenticate_token(self, token: str) -> UserInfo | None: ...


def _with_authenticated(user: UserInfo) -> UserInfo:
    if "system:authenticated" in user.groups:
        return user
    return UserInfo(user.name, user.uid, (*user.groups, "system:authenticated"), user.extra)


def load_token_file(text: str) -> dict[str, UserInfo]:
    """Parse a token CSV; ``ValueError`` naming the line on a malformed record."""
    tokens: dict[str, UserInfo] = {}
    for lineno, record in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not record or (len(record) == 1 and not record[0].strip()):
            continue
        if record[0].lstrip().startswith("#"):
            continue
        if len(record) < 3:
            raise ValueError(f"token file line {lineno}: need at least 3 columns: token,user,uid")
        token, name, uid = (c.strip() for c in record[:3])
        if not token or not name:
            raise ValueError(f"token file line {lineno}: empty token or user name")
        groups: tuple[str, ...] = ()
        if len(record) > 3 and record[3].strip():
            groups = tuple(g.strip() for g in record[3].split(",") if g.strip())
        tokens[token] = _with_authenticated(UserInfo(name, uid, groups))
    return tokens


class StaticTokenAuthenticator:
    def __init__(self, tokens: Mapping[str, UserInfo]) -> None:
        self._tokens = dict(tokens)

    @classmethod
    def from_file(cls, path: str | Path) -> StaticTokenAuthenticator:
        return cls(load_token_file(Path(path).read_text()))

    def authenticate_token(self, token: str) -> UserInfo | None:
        return self._tokens.get(token)


class Authenticator:
    """Bearer token → user: each token authenticator in turn, then anonymous if enabled."""

    def __init__(
        self, token_authenticators: Iterable[TokenAuthenticator] = (), *, anonymous: bool = False
    ) -> None:
        self.token_authenticators = list(token_authenticators)
        self.anonymous = anonymous

    def authenticate(self, token: str | None) -> UserInfo:
        """The user of ``token`` (``None`` or ``""``: no credentials); Unauthorized if none."""
        if token:
            for auth in self.token_authenticators:
                user = auth.authenticate_token(token)
                if user is not None:
                    return user
            raise StatusError.unauthorized("Unauthorized")
        if self.anonymous:
            return ANONYMOUS
        raise StatusError.unauthorized("Unauthorized")


class Authorizer(Protocol):
    """Where RBAC will go: raise nothing to allow; return a reason string to deny."""

    def authorize(self, user: UserInfo, request: RequestInfo) -> str | None: ...


class AlwaysAllow:
    def authorize(self, user: UserInfo, request: RequestInfo) -> str | None:
        return None
