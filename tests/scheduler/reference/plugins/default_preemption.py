"""DefaultPreemption (PostFilter), the nominator and the filters "with nominated pods", as
rust/kubemu-sched/src/plugins/default_preemption.rs documents them: eligibility, candidates
among Unschedulable nodes from a seeded offset, victims by dry run with reprieve (PDB-violating
first, most important first), upstream's node choice, the same deliberate departures."""

from __future__ import annotations

import calendar
import copy
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..cache import Cache, NodeInfo
from ..framework import ERROR, UNRESOLVABLE, UNSCHEDULABLE, CycleState, Plugin, Status
from ..model import Pod
from ..pod_terms import LabelSelector, SelectorError, parse_selector
from ..rand import SplitMix64

NAME = "DefaultPreemption"
NO_VICTIMS = "No preemption victims found for incoming pod"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
POLICY_NEVER = "not eligible due to preemptionPolicy=Never."
TERMINATING = "not eligible due to a terminating pod on the nominated node."
NOW = (1 << 63) - 1  # an unset start time: "now", later than any set one

_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|z|[+-]\d{2}:\d{2})$"
)


def parse_time(s: str | None) -> int | None:
    """RFC 3339 → Unix nanoseconds (None when unset or malformed)."""
    m = _TIME.match(s or "")
    if m is None:
        return None
    y, mo, d, h, mi, sec = (int(m.group(i)) for i in range(1, 7))
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h <= 23 and mi <= 59 and sec <= 60):
        return None
    frac = (m.group(7) or ".")[1:10].ljust(9, "0")
    off = 0
    if m.group(8) not in ("Z", "z"):
        sign = -1 if m.group(8)[0] == "-" else 1
        off = sign * (int(m.group(8)[1:3]) * 3600 + int(m.group(8)[4:6]) * 60)
    secs = calendar.timegm((y, mo, d, h, mi, sec, 0, 0, 0)) - off
    return secs * 1_000_000_000 + int(frac)


@dataclass(frozen=True)
class Extras:
    """What preemption reads of a pod beyond the reference model."""

    preemption_never: bool = False
    nominated_node: str = ""
    start_time: int | None = None
    terminating_by_preemption: bool = False

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> Extras:
        meta = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        dt = next(
            (
                c
                for c in status.get("conditions") or []
                if isinstance(c, dict) and c.get("type") == "DisruptionTarget"
            ),
            None,
        )
        return cls(
            spec.get("preemptionPolicy") == "Never",
            str(status.get("nominatedNodeName") or ""),
            parse_time(status.get("startTime")),
            bool(meta.get("deletionTimestamp"))
            and dt is not None
            and dt.get("status") == "True"
            and dt.get("reason") == "PreemptionByScheduler",
        )


@dataclass
class Pdb:
    namespace: str
    selector: LabelSelector | None
    allowed: int
    disrupted: frozenset[str] = frozenset()

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> Pdb:
        meta = obj.get("metadata") or {}
        try:
            sel: LabelSelector | None = parse_selector((obj.get("spec") or {}).get("selector"))
        except SelectorError:
            sel = None
        status = obj.get("status") or {}
        return cls(
            str(meta.get("namespace") or ""),
            sel,
            int(status.get("disruptionsAllowed") or 0),
            frozenset(status.get("disruptedPods") or {}),
        )

    def covers(self, pod: Pod) -> bool:
        return (
            self.namespace == pod.namespace
            and self.selector is not None
            and not self.selector.empty()
            and self.selector.matches(pod.labels)
        )


def nkey(pod: Pod) -> str:
    return f"{pod.namespace}/{pod.name}"


@dataclass
class Nominator:
    by_node: dict[str, list[Pod]] = field(default_factory=dict)
    by_pod: dict[str, str] = field(default_factory=dict)

    def add(self, pod: Pod, node: str) -> None:
        self.remove(nkey(pod))
        if node:
            self.by_node.setdefault(node, []).append(pod)
            self.by_pod[nkey(pod)] = node

    def remove(self, key: str) -> None:
        node = self.by_pod.pop(key, None)
        if node is not None:
            self.by_node[node] = [p for p in self.by_node[node] if nkey(p) != key]
            if not self.by_node[node]:
                del self.by_node[node]


# -- node copies and PreFilter extensions ------------------------------------------------------


def clone(info: NodeInfo) -> NodeInfo:
    c = NodeInfo(info.node, info.present)
    c.requested.add(info.requested)
    c.non_zero_cpu, c.non_zero_memory = info.non_zero_cpu, info.non_zero_memory
    c.pods = dict(info.pods)
    c.ports = list(info.ports)
    return c


def add_to(info: NodeInfo, pod: Pod) -> None:
    info.requested.add(pod.requests)
    info.non_zero_cpu += pod.non_zero_cpu
    info.non_zero_memory += pod.non_zero_memory
    info.ports.extend(pod.host_ports)
    info.pods[pod.key()] = pod


def remove_from(info: NodeInfo, pod: Pod) -> None:
    del info.pods[pod.key()]
    info.requested.add(pod.requests, -1)
    info.non_zero_cpu -= pod.non_zero_cpu
    info.non_zero_memory -= pod.non_zero_memory
    for p in pod.host_ports:
        info.ports.remove(p)


def update_state(state: CycleState, pod: Pod, changed: Pod, info: NodeInfo, delta: int) -> None:
    """AddPod (1) / RemovePod (-1) on every PreFilter state that follows pods."""
    for v in state.values():
        fn = getattr(v, "update_with_pod", None)
        if fn is not None:
            fn(changed, pod, info.node, delta)


class Framework:
    """The filters of one pod's cycle, the nominator and the PDBs."""

    def __init__(
        self, filters: Sequence[Plugin], nominator: Nominator, pdbs: Mapping[str, Pdb]
    ) -> None:
        self.filters = filters
        self.nominator = nominator
        self.pdbs = pdbs

    def run_filters(self, state: CycleState, pod: Pod, info: NodeInfo) -> Status | None:
        for f in self.filters:
            s = f.filter(state, pod, info)
            if s is not None:
                return s
        return None

    def yield_to(self, pod: Pod, node: str) -> list[Pod]:
        me = nkey(pod)
        return [
            p
            for p in self.nominator.by_node.get(node, [])
            if p.priority >= pod.priority and nkey(p) != me
        ]

    def run_filters_with_nominated(
        self, state: CycleState, pod: Pod, info: NodeInfo
    ) -> Status | None:
        nominated = self.yield_to(pod, info.name)
        if not nominated:
            return self.run_filters(state, pod, info)
        st = copy.deepcopy(state)
        c = clone(info)
        for p in nominated:
            add_to(c, p)
            update_state(st, pod, p, c, 1)
        s = self.run_filters(st, pod, c)
        if s is not None:
            return s
        return self.run_filters(state, pod, info)


# -- the plugin ----------------------------------------------------------------------------------


def importance(pod: Pod, extras: Callable[[Pod], Extras]) -> tuple[int, int]:
    """Sort key: higher priority first, then earlier start (unset = now)."""
    st = extras(pod).start_time
    return (-pod.priority, NOW if st is None else st)


@dataclass
class Candidate:
    node: str
    victims: list[Pod]
    violations: int


@dataclass
class PostFilterOutcome:
    nominated_node: str | None = None  # None: unchanged, "": clear
    victims: list[Pod] = field(default_factory=list)
    cleared: list[Pod] = field(default_factory=list)
    message: str = ""  # with the "preemption: " prefix, empty on success


def fit_histogram(num_all: int, statuses: Sequence[Status]) -> str:
    reasons: dict[str, int] = {}
    for s in statuses:
        for r in s.reasons:
            reasons[r] = reasons.get(r, 0) + 1
    absent = num_all - len(statuses)
    if absent > 0:
        reasons[NOT_HELPFUL] = reasons.get(NOT_HELPFUL, 0) + absent
    msg = f"0/{num_all} nodes are available:"
    entries = sorted(f"{n} {r}" for r, n in reasons.items())
    return f"{msg} {', '.join(entries)}." if entries else msg


class DefaultPreemption(Plugin):
    name = NAME
    points = frozenset({"postFilter"})

    def __init__(self, args: Mapping[str, Any] | None = None) -> None:
        a = args or {}
        self.pct = int(a.get("minCandidateNodesPercentage", 10))
        self.abs = int(a.get("minCandidateNodesAbsolute", 100))

    def num_candidates(self, n: int) -> int:
        return min(max(n * self.pct // 100, self.abs), n)

    def select_victims(
        self,
        fw: Framework,
        state: CycleState,
        pod: Pod,
        info: NodeInfo,
        extras: Callable[[Pod], Extras],
    ) -> tuple[list[Pod], int] | Status:
        potential = [p for p in info.pods.values() if p.priority < pod.priority]
        if not potential:
            return Status(UNRESOLVABLE, [NO_VICTIMS])
        st = copy.deepcopy(state)
        c = clone(info)
        for p in potential:
            remove_from(c, p)
            update_state(st, pod, p, c, -1)
        s = fw.run_filters_with_nominated(st, pod, c)
        if s is not None:
            return s
        potential.sort(key=lambda p: importance(p, extras))
        allowed = {k: pdb.allowed for k, pdb in fw.pdbs.items()}
        violating: list[Pod] = []
        ok: list[Pod] = []
        for p in potential:
            bad = False
            if p.labels:
                for k in sorted(fw.pdbs):
                    pdb = fw.pdbs[k]
                    if not pdb.covers(p) or p.name in pdb.disrupted:
                        continue
                    allowed[k] -= 1
                    if allowed[k] < 0:
                        bad = True
            (violating if bad else ok).append(p)
        victims: list[Pod] = []
        violations = 0

        def reprieve(p: Pod) -> bool:
            add_to(c, p)
            update_state(st, pod, p, c, 1)
            fits = fw.run_filters_with_nominated(st, pod, c) is None
            if not fits:
                remove_from(c, p)
                update_state(st, pod, p, c, -1)
                victims.append(p)
            return fits

        for p in violating:
            if not reprieve(p):
                violations += 1
        for p in ok:
            reprieve(p)
        if violating and ok:
            victims.sort(key=lambda p: importance(p, extras))
        return victims, violations

    @staticmethod
    def pick(candidates: Sequence[Candidate], extras: Callable[[Pod], Extras]) -> int:
        def earliest(c: Candidate) -> int:
            top = max(p.priority for p in c.victims)
            times = [extras(p).start_time for p in c.victims if p.priority == top]
            return min(NOW if t is None else t for t in times)

        scores: list[Callable[[Candidate], int]] = [
            lambda c: -c.violations,
            lambda c: -c.victims[0].priority,
            lambda c: -sum(p.priority + (1 << 31) for p in c.victims),
            lambda c: -len(c.victims),
            earliest,
        ]
        idx = list(range(len(candidates)))
        for f in scores:
            best = max(f(candidates[i]) for i in idx)
            idx = [i for i in idx if f(candidates[i]) == best]
            if len(idx) == 1:
                break
        return idx[0]

    def post_filter(
        self,
        fw: Framework,
        cache: Cache,
        rng: SplitMix64,
        state: CycleState,
        pod: Pod,
        codes: Mapping[str, str] | None,
        extras: Callable[[Pod], Extras],
    ) -> PostFilterOutcome:
        """``codes``: node → filter status code of the evaluated nodes (absent nodes are
        UnschedulableAndUnresolvable); None when PreFilter rejected the pod."""
        ex = extras(pod)
        if ex.preemption_never:
            return PostFilterOutcome(message=f"preemption: {POLICY_NEVER}")
        codes = codes or {}
        if ex.nominated_node:
            info = cache.get(ex.nominated_node)
            code = codes.get(ex.nominated_node, UNRESOLVABLE) if info else UNRESOLVABLE
            if code != UNRESOLVABLE and info is not None:
                if any(
                    p.priority < pod.priority and extras(p).terminating_by_preemption
                    for p in info.pods.values()
                ):
                    return PostFilterOutcome(message=f"preemption: {TERMINATING}")
        num_all = cache.num_nodes()
        potential = [n for n in cache.order() if codes.get(n) == UNSCHEDULABLE]
        if not potential:
            return PostFilterOutcome("", message=f"preemption: {fit_histogram(num_all, [])}")
        offset = rng.below(len(potential))
        want = self.num_candidates(len(potential))
        good: list[Candidate] = []
        bad: list[Candidate] = []
        failed: list[Status] = []
        for k in range(len(potential)):
            name = potential[(offset + k) % len(potential)]
            r = self.select_victims(fw, state, pod, cache.infos[name], extras)
            if isinstance(r, Status):
                failed.append(r)
                continue
            victims, v = r
            (good if v == 0 else bad).append(Candidate(name, victims, v))
            if good and len(good) + len(bad) >= want:
                break
        cands = good + bad
        if not cands:
            err = next((s for s in failed if s.code == ERROR), None)
            if err is not None:
                return PostFilterOutcome(message=f"preemption: {err.message()}")
            return PostFilterOutcome("", message=f"preemption: {fit_histogram(num_all, failed)}")
        c = cands[self.pick(cands, extras)]
        cleared = [p for p in fw.nominator.by_node.get(c.node, []) if p.priority < pod.priority]
        return PostFilterOutcome(c.node, c.victims, cleared)


NO_NOMINATED = Status("NoNominatedPods")
"""``Preemption.filter_with_nominated``: no nominated pod to yield to on the node."""


class Preemption:
    """The reference engine's PostFilter hook: the nominator, the PDBs, the pods' extras and
    the DefaultPreemption plugin (in the default profile, as in rust/kubemu-sched)."""

    def __init__(self, args: Mapping[str, Any] | None = None) -> None:
        self.plugin = DefaultPreemption(args)
        self.nominator = Nominator()
        self.pdbs: dict[str, Pdb] = {}
        self._extras: dict[str, Extras] = {}

    def record(self, obj: Mapping[str, Any]) -> None:
        """Remember what preemption reads of a pod document."""
        meta = obj.get("metadata") or {}
        self._extras[f"{meta.get('namespace', '')}/{meta.get('name', '')}"] = Extras.from_dict(obj)

    def extras(self, pod: Pod) -> Extras:
        return self._extras.get(nkey(pod), Extras())

    def set_pdb(self, obj: Mapping[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        self.pdbs[f"{meta.get('namespace', '')}/{meta.get('name', '')}"] = Pdb.from_dict(obj)

    def set_nominated_pod(self, obj: Mapping[str, Any]) -> None:
        self.record(obj)
        pod = Pod.from_dict(obj)
        self.nominator.add(pod, self.extras(pod).nominated_node)

    def framework(self, filters: Sequence[Plugin]) -> Framework:
        return Framework(filters, self.nominator, self.pdbs)

    def filter_with_nominated(
        self, state: CycleState, pod: Pod, info: NodeInfo, filters: Sequence[Plugin]
    ) -> Status | None:
        """The filters with nominated pods, or :data:`NO_NOMINATED` when none to yield to."""
        fw = self.framework(filters)
        if not fw.yield_to(pod, info.name):
            return NO_NOMINATED
        return fw.run_filters_with_nominated(state, pod, info)

    def nominated_first(
        self, state: CycleState, pod: Pod, cache: Cache, filters: Sequence[Plugin]
    ) -> str | None:
        """The pod's nominated node when it passes the filters (upstream
        ``evaluateNominatedNode``)."""
        node = self.extras(pod).nominated_node
        info = cache.get(node) if node else None
        if info is None:
            return None
        s = self.framework(filters).run_filters_with_nominated(state, pod, info)
        return info.name if s is None else None

    def post_filter(
        self,
        cache: Cache,
        rng: SplitMix64,
        state: CycleState,
        pod: Pod,
        filters: Sequence[Plugin],
        codes: Mapping[str, str] | None,
    ) -> PostFilterOutcome:
        out = self.plugin.post_filter(
            self.framework(filters), cache, rng, state, pod, codes, self.extras
        )
        if out.nominated_node == "":
            self.nominator.remove(nkey(pod))
        elif out.nominated_node:
            self.nominator.add(pod, out.nominated_node)
            for p in out.cleared:
                self.nominator.remove(nkey(p))
        return out
