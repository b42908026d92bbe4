"""KubeSchedulerConfiguration (``kubescheduler.config.k8s.io/v1``): what the service reads.

Read: ``profiles`` (``schedulerName``, ``percentageOfNodesToScore``, ``plugins``,
``pluginConfig``: the last two are handed to the Rust core as msgpack, which merges them with
the default plugins and validates them), the global ``percentageOfNodesToScore``,
``podInitialBackoffSeconds`` and ``podMaxBackoffSeconds``. Accepted and ignored: ``parallelism``,
``leaderElection``, ``clientConnection``, ``delayCacheUntilActive``, ``enableProfiling``,
``enableContentionProfiling``. Anything else, and bad values, raise :class:`ConfigError` naming
the field, as kube-scheduler's strict decoding and validation do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

__all__ = [
    "API_VERSION",
    "DEFAULT_SCHEDULER_NAME",
    "ConfigError",
    "Profile",
    "SchedulerConfig",
    "load_config",
    "parse_config",
]

API_VERSION: Final = "kubescheduler.config.k8s.io/v1"
DEFAULT_SCHEDULER_NAME: Final = "default-scheduler"

_IGNORED: Final = frozenset(
    {
        "parallelism",
        "leaderElection",
        "clientConnection",
        "delayCacheUntilActive",
        "enableProfiling",
        "enableContentionProfiling",
        "healthzBindAddress",
        "metricsBindAddress",
    }
)
_KNOWN: Final = _IGNORED | {
    "apiVersion",
    "kind",
    "profiles",
    "percentageOfNodesToScore",
    "podInitialBackoffSeconds",
    "podMaxBackoffSeconds",
    "extenders",
}
_PROFILE_KEYS: Final = frozenset(
    {"schedulerName", "percentageOfNodesToScore", "plugins", "pluginConfig"}
)


class ConfigError(ValueError):
    """A configuration kube-scheduler would reject; the message names the field."""


@dataclass(frozen=True)
class Profile:
    """One KubeSchedulerProfile. ``document`` is the profile as given (for the core)."""

    scheduler_name: str = DEFAULT_SCHEDULER_NAME
    percentage_of_nodes_to_score: int | None = None
    document: Mapping[str, Any] = field(default_factory=dict)

    def core_document(self, global_percentage: int | None) -> dict[str, Any]:
        """The profile for the core, with the global percentage where the profile has none."""
        doc = {k: v for k, v in self.document.items() if k in _PROFILE_KEYS}
        doc["schedulerName"] = self.scheduler_name
        pct = self.percentage_of_nodes_to_score
        if pct is None:
            pct = global_percentage
        if pct is not None:
            doc["percentageOfNodesToScore"] = pct
        else:
            doc.pop("percentageOfNodesToScore", None)
        return doc


@dataclass(frozen=True)
class SchedulerConfig:
    profiles: tuple[Profile, ...] = (Profile(),)
    percentage_of_nodes_to_score: int | None = None
    pod_initial_backoff_seconds: float = 1.0
    pod_max_backoff_seconds: float = 10.0

    @property
    def scheduler_names(self) -> frozenset[str]:
        return frozenset(p.scheduler_name for p in self.profiles)


def _int(value: Any, path: str, *, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{path}: Invalid value: {value!r}: must be an integer")
    if value < low or (high is not None and value > high):
        rng = f"[{low}-{high}]" if high is not None else f">= {low}"
        raise ConfigError(f"{path}: Invalid value: {value}: not in valid range {rng}")
    return value


def parse_config(doc: Any) -> SchedulerConfig:
    """A configuration from its decoded YAML document (None or ``{}``: the defaults)."""
    if doc is None:
        return SchedulerConfig()
    if not isinstance(doc, Mapping):
        raise ConfigError("KubeSchedulerConfiguration: expected a mapping")
    api_version = doc.get("apiVersion", API_VERSION)
    if api_version != API_VERSION:
        raise ConfigError(f"apiVersion: Unsupported value: {api_version!r}: want {API_VERSION!r}")
    kind = doc.get("kind", "KubeSchedulerConfiguration")
    if kind != "KubeSchedulerConfiguration":
        raise ConfigError(f"kind: Unsupported value: {kind!r}")
    for key in doc:
        if key not in _KNOWN:
            raise ConfigError(f"{key}: unknown field")
    if doc.get("extenders"):
        raise ConfigError("extenders: Unsupported value: scheduler extenders are not supported")
    global_pct = None
    if doc.get("percentageOfNodesToScore") is not None:
        global_pct = _int(
            doc["percentageOfNodesToScore"], "percentageOfNodesToScore", low=0, high=100
        )
    initial = _int(doc.get("podInitialBackoffSeconds", 1), "podInitialBackoffSeconds", low=1)
    maximum = _int(doc.get("podMaxBackoffSeconds", 10), "podMaxBackoffSeconds", low=1)
    if maximum < initial:
        raise ConfigError(
            f"podMaxBackoffSeconds: Invalid value: {maximum}: must be greater than or equal to "
            "PodInitialBackoffSeconds"
        )
    raw_profiles = doc.get("profiles")
    if raw_profiles is None or raw_profiles == []:
        raw_profiles = [{}]
    if not isinstance(raw_profiles, list):
        raise ConfigError("profiles: expected a list")
    profiles: list[Profile] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_profiles):
        path = f"profiles[{i}]"
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{path}: expected a mapping")
        for key in raw:
            if key not in _PROFILE_KEYS:
                raise ConfigError(f"{path}.{key}: unknown field")
        name = raw.get("schedulerName", DEFAULT_SCHEDULER_NAME)
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{path}.schedulerName: Required value")
        if name in seen:
            raise ConfigError(f"{path}.schedulerName: Duplicate value: {name!r}")
        seen.add(name)
        pct = None
        if raw.get("percentageOfNodesToScore") is not None:
            pct = _int(
                raw["percentageOfNodesToScore"],
                f"{path}.percentageOfNodesToScore",
                low=0,
                high=100,
            )
        for key, kind_ in (("plugins", Mapping), ("pluginConfig", list)):
            if raw.get(key) is not None and not isinstance(raw[key], kind_):
                raise ConfigError(f"{path}.{key}: Invalid value: expected a {kind_.__name__}")
        profiles.append(Profile(name, pct, dict(raw)))
    return SchedulerConfig(
        profiles=tuple(profiles),
        percentage_of_nodes_to_score=global_pct,
        pod_initial_backoff_seconds=float(initial),
        pod_max_backoff_seconds=float(maximum),
    )


def load_config(path: str | Path) -> SchedulerConfig:
    """Read and parse a KubeSchedulerConfiguration YAML file."""
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise ConfigError(f"{path}: {e.strerror or e}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: invalid YAML: {e}") from None
    return parse_config(doc)
