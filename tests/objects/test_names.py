"""Name and value formats with upstream's exact messages."""

from __future__ import annotations

import pytest
from kubemu.objects.names import (
    GENERATE_NAME_ALPHABET,
    generate_name,
    is_config_map_key,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_env_var_name,
    is_qualified_name,
    is_valid_ip,
    is_valid_label_value,
    is_valid_path_segment_name,
    is_valid_percent,
    is_valid_port_name,
    is_valid_port_num,
    mask_trailing_dash,
    name_is_dns_subdomain,
)

LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
QNAME_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
    "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


@pytest.mark.parametrize("name", ["a", "ab-c", "0", "a" * 63, "123-abc"])
def test_dns1123_label_valid(name: str) -> None:
    assert is_dns1123_label(name) == []


def test_dns1123_label_invalid() -> None:
    assert is_dns1123_label("Foo") == [LABEL_MSG]
    assert is_dns1123_label("-a") == [LABEL_MSG]
    assert is_dns1123_label("a.b") == ["must not contain dots"]
    assert is_dns1123_label("a" * 64) == ["must be no more than 63 characters"]
    assert is_dns1123_label("") == [LABEL_MSG]


def test_dns1123_subdomain() -> None:
    assert is_dns1123_subdomain("example.com") == []
    assert is_dns1123_subdomain("Foo") == [SUBDOMAIN_MSG]
    assert is_dns1123_subdomain("a..b") == [SUBDOMAIN_MSG]
    long = ".".join(["a" * 63] * 4)  # 255 characters
    assert is_dns1123_subdomain(long) == ["must be no more than 253 characters"]


def test_dns1035_label() -> None:
    assert is_dns1035_label("my-svc") == []
    assert is_dns1035_label("1svc") == [
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
        "an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
        "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
    ]


def test_qualified_name() -> None:
    for ok in ("app", "app.kubernetes.io/name", "A_b.c-D", "x/y"):
        assert is_qualified_name(ok) == [], ok
    assert is_qualified_name("-app") == [QNAME_MSG]
    assert is_qualified_name("/app") == ["prefix part must be non-empty"]
    assert is_qualified_name("app/") == ["name part must be non-empty", QNAME_MSG]
    assert is_qualified_name("Example.com/x") == ["prefix part " + SUBDOMAIN_MSG]
    assert is_qualified_name("x" * 64) == ["name part must be no more than 63 characters"]
    assert is_qualified_name("a/b/c") == [
        "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must "
        "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
        "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') "
        "with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
    ]


def test_label_value() -> None:
    assert is_valid_label_value("") == []
    assert is_valid_label_value("v1.2_3-x") == []
    assert is_valid_label_value("a b") == [
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
        "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
        "'my_value',  or '12345', regex used for validation is "
        "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
    ]
    assert is_valid_label_value("a" * 64)[0] == "must be no more than 63 characters"


def test_config_map_key() -> None:
    assert is_config_map_key("KEY_name.1-x") == []
    assert is_config_map_key("..x") == ["must not start with '..'"]
    assert is_config_map_key(".") == ["must not be '.'"]
    assert is_config_map_key("a/b") == [
        "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "
        "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
        "'[-._a-zA-Z0-9]+')"
    ]


def test_ports_and_percent() -> None:
    assert is_valid_port_num(80) == []
    assert is_valid_port_num(0) == ["must be between 1 and 65535, inclusive"]
    assert is_valid_port_num(65536) == ["must be between 1 and 65535, inclusive"]
    assert is_valid_port_name("http") == []
    assert is_valid_port_name("8080") == ["must contain at least one letter (a-z)"]
    assert is_valid_port_name("a--b") == ["must not contain consecutive hyphens"]
    assert is_valid_port_name("-a") == ["must not begin or end with a hyphen"]
    assert is_valid_port_name("averyveryverylongname")[0] == "must be no more than 15 characters"
    assert is_valid_percent("25%") == []
    assert is_valid_percent("25") == [
        "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  "
        "or '93%', regex used for validation is '[0-9]+%')"
    ]


def test_misc_formats() -> None:
    assert is_env_var_name("MY_VAR.x-1") == []
    assert is_env_var_name("A=B") == [
        "a valid environment variable name must consist only of printable ASCII characters "
        "other than '='"
    ]
    assert is_valid_ip("10.0.0.1") == [] and is_valid_ip("::1") == []
    assert is_valid_ip("10.0.0.256") == [
        "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
    ]
    assert is_valid_path_segment_name("..") == ["may not be '..'"]
    assert is_valid_path_segment_name("a/b%c") == ["may not contain '/'", "may not contain '%'"]


def test_generate_name_prefix_may_end_with_a_dash() -> None:
    assert mask_trailing_dash("web-") == "wea"
    assert name_is_dns_subdomain("web-", True) == []
    assert name_is_dns_subdomain("web-", False) == [SUBDOMAIN_MSG]


def test_generate_name() -> None:
    name = generate_name("web-")
    assert name.startswith("web-") and len(name) == 9
    assert all(c in GENERATE_NAME_ALPHABET for c in name[4:])
    long = generate_name("x" * 80)
    assert len(long) == 63 and long.startswith("x" * 58)
    assert len({generate_name("a-") for _ in range(50)}) > 40
