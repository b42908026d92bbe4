"""EndpointSlice (discovery.k8s.io/v1)."""

from __future__ import annotations

from kubemu.objects.kinds import ENDPOINT_SLICE

from .factories import Obj, create, create_valid, messages, update


def es(
    address_type: str = "IPv4", endpoints: list[Obj] | None = None, ports: list[Obj] | None = None
) -> Obj:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "web-abc",
            "namespace": "d",
            "labels": {"kubernetes.io/service-name": "web"},
        },
        "addressType": address_type,
        "endpoints": endpoints
        if endpoints is not None
        else [{"addresses": ["10.1.0.5"], "conditions": {"ready": True}}],
        "ports": ports if ports is not None else [{"port": 8080}],
    }


def test_create() -> None:
    created = create_valid(ENDPOINT_SLICE, es())
    assert created["ports"] == [{"port": 8080, "name": "", "protocol": "TCP"}]
    assert created["metadata"]["generation"] == 1
    assert (
        ENDPOINT_SLICE.key("d", "web-abc") == b"/registry/discovery.k8s.io/endpointslices/d/web-abc"
    )


def test_validation() -> None:
    obj = es(
        endpoints=[{"addresses": []}, {"addresses": ["::1"], "nodeName": "Node_1"}],
        ports=[{"port": 1}, {"port": 2}],
    )
    assert messages(ENDPOINT_SLICE.validate_create(create(ENDPOINT_SLICE, obj))) == [
        "endpoints[0].addresses: Required value: must contain at least 1 address",
        'endpoints[1].addresses[0]: Invalid value: "::1": must be a valid IPv4 address',
        'endpoints[1].nodeName: Invalid value: "Node_1": a lowercase RFC 1123 subdomain must '
        "consist of lower case alphanumeric characters, '-' or '.', and must start and end with "
        "an alphanumeric character (e.g. 'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        'ports[1].name: Duplicate value: ""',
    ]
    assert messages(ENDPOINT_SLICE.validate_create(create(ENDPOINT_SLICE, es("IPv5")))) == [
        'addressType: Unsupported value: "IPv5": supported values: "FQDN", "IPv4", "IPv6"'
    ]
    many = es(endpoints=[{"addresses": ["10.0.0.1"]}] * 1001)
    assert messages(ENDPOINT_SLICE.validate_create(create(ENDPOINT_SLICE, many))) == [
        "endpoints: Too many: 1001: must have at most 1000 items"
    ]


def test_update() -> None:
    stored = create_valid(ENDPOINT_SLICE, es())
    _, errs = update(ENDPOINT_SLICE, stored, lambda o: o.update(addressType="IPv6", endpoints=[]))
    assert errs == ['addressType: Invalid value: "IPv6": field is immutable']
    new, errs = update(
        ENDPOINT_SLICE, stored, lambda o: o["endpoints"][0].update(addresses=["10.1.0.6"])
    )
    assert errs == [] and new["metadata"]["generation"] == 2
