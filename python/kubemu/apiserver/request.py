"""Who asks and what: :class:`UserInfo` and :class:`RequestInfo`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

__all__ = ["ANONYMOUS", "SYSTEM_ADMIN", "RequestInfo", "UserInfo", "is_readonly"]


@dataclass(frozen=True, slots=True)
class UserInfo:
    """``user.Info``: name, uid, groups and extra attributes of an authenticated caller."""

    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())


SYSTEM_ADMIN: Final = UserInfo("system:admin", groups=("system:masters", "system:authenticated"))
ANONYMOUS: Final = UserInfo("system:anonymous", groups=("system:unauthenticated",))

_READONLY: Final = frozenset({"get", "list", "watch"})


def is_readonly(verb: str) -> bool:
    return verb in _READONLY


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """What a request does (upstream's ``RequestInfo``), as the authorizer sees it."""

    verb: str
    """get, list, watch, create, update, patch, delete, deletecollection."""
    resource: str
    namespace: str = ""
    name: str = ""
    subresource: str = ""
    api_group: str = ""
