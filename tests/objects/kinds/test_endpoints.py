"""Endpoints (core/v1)."""

from __future__ import annotations

from kubemu.objects.kinds import ENDPOINTS

from .factories import Obj, create, create_valid, messages


def ep(subsets: list[Obj]) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "web", "namespace": "d"},
        "subsets": subsets,
    }


def test_valid_endpoints_get_port_protocols() -> None:
    created = create_valid(
        ENDPOINTS,
        ep([{"addresses": [{"ip": "10.1.0.5", "nodeName": "node-1"}], "ports": [{"port": 8080}]}]),
    )
    assert created["subsets"][0]["ports"][0]["protocol"] == "TCP"


def test_validation() -> None:
    obj = ep(
        [
            {"ports": [{"port": 80}]},
            {
                "addresses": [{"ip": "127.0.0.1"}, {"ip": "not-an-ip"}],
                "notReadyAddresses": [{"ip": "169.254.1.1"}],
                "ports": [{"port": 80, "name": "a"}, {"port": 70000}],
            },
        ]
    )
    assert messages(ENDPOINTS.validate_create(create(ENDPOINTS, obj))) == [
        "subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`",
        'subsets[1].addresses[0].ip: Invalid value: "127.0.0.1": may not be in the loopback range '
        "(127.0.0.0/8, ::1/128)",
        'subsets[1].addresses[1].ip: Invalid value: "not-an-ip": must be a valid IP address, (e.g. '
        "10.9.8.7 or 2001:db8::ffff)",
        'subsets[1].notReadyAddresses[0].ip: Invalid value: "169.254.1.1": may not be in the '
        "link-local range (169.254.0.0/16, fe80::/10)",
        "subsets[1].ports[1].name: Required value",
        "subsets[1].ports[1].port: Invalid value: 70000: must be between 1 and 65535, inclusive",
    ]
