"""Token file authentication, anonymous access, and the authorizer hook."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubemu.apiserver import (
    ANONYMOUS,
    APIServer,
    Authenticator,
    EmbeddedStorage,
    RequestInfo,
    StaticTokenAuthenticator,
    UserInfo,
    load_token_file,
)
from kubemu.client.inprocess import InProcessClient
from kubemu.objects import StatusError
from kubemu.store import Store

from tests.apiserver.conftest import pod


def test_token_file_format(tmp_path: Path) -> None:
    path = tmp_path / "tokens.csv"
    path.write_text(
        '# comment\nt1,alice,uid-1,"dev,ops"\nt2,bob,uid-2\n\nt3,carol,uid-3,\n', encoding="utf-8"
    )
    auth = Authenticator([StaticTokenAuthenticator.from_file(path)])
    alice = auth.authenticate("t1")
    assert alice.name == "alice" and alice.uid == "uid-1"
    assert alice.groups == ("dev", "ops", "system:authenticated")
    assert auth.authenticate("t2").groups == ("system:authenticated",)
    assert auth.authenticate("t3").name == "carol"
    with pytest.raises(StatusError) as e:
        auth.authenticate("wrong")
    assert e.value.code == 401


def test_malformed_token_file() -> None:
    with pytest.raises(ValueError, match="line 1"):
        load_token_file("only,two\n")


def test_anonymous_only_when_enabled() -> None:
    with pytest.raises(StatusError) as e:
        Authenticator().authenticate(None)
    assert e.value.reason == "Unauthorized"
    assert Authenticator(anonymous=True).authenticate("") == ANONYMOUS


class _DenyDeletes:
    def authorize(self, user: UserInfo, request: RequestInfo) -> str | None:
        if request.verb == "delete" and user.name != "system:admin":
            return ""
        return None


async def test_authorizer_hook(store: Store) -> None:
    api = APIServer(EmbeddedStorage(store), authorizer=_DenyDeletes())
    alice = InProcessClient(api, user=UserInfo("alice", groups=("system:authenticated",)))
    await alice.create("pods", "default", pod())
    with pytest.raises(StatusError) as e:
        await alice.delete("pods", "default", "web")
    assert e.value.code == 403
    assert e.value.message == (
        'pods "web" is forbidden: User "alice" cannot delete resource "pods" in API group "" '
        'in the namespace "default"'
    )
    await InProcessClient(api).delete("pods", "default", "web")
