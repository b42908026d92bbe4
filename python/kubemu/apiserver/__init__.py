"""The apiserver: core (handlers, admission, auth, watch fan-out) and its transports.

``APIServer(EmbeddedStorage(Store()))`` is a whole apiserver in this process;
:class:`kubemu.client.inprocess.InProcessClient` talks to it. See docs/apiserver.md.
"""

from kubemu.apiserver.auth import (
    AlwaysAllow,
    Authenticator,
    Authorizer,
    StaticTokenAuthenticator,
    load_token_file,
)
from kubemu.apiserver.handlers import APIServer
from kubemu.apiserver.listing import RawList
from kubemu.apiserver.request import ANONYMOUS, SYSTEM_ADMIN, RequestInfo, UserInfo
from kubemu.apiserver.storage import EmbeddedStorage, Storage
from kubemu.apiserver.watch import RawObject, RawWatchEvent, ServerWatch

__all__ = [
    "ANONYMOUS",
    "SYSTEM_ADMIN",
    "APIServer",
    "AlwaysAllow",
    "Authenticator",
    "Authorizer",
    "EmbeddedStorage",
    "RawList",
    "RawObject",
    "RawWatchEvent",
    "RequestInfo",
    "ServerWatch",
    "StaticTokenAuthenticator",
    "Storage",
    "UserInfo",
    "load_token_file",
]
