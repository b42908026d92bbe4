"""The scheduling loop (upstream ``schedule_one.go``), apart from the plugins.

PreFilter → Filter from the round-robin start until ``numFeasibleNodesToFind`` feasible nodes →
PreScore → Score → NormalizeScore → times weight → sum → highest total, ties broken by reservoir
sampling with SplitMix64 → assume. Same documented choices as rust/kubemu-sched/src/engine.rs:
a PreFilter node-name set is walked in name order; the generator is drawn only on ties.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .cache import Cache, NodeInfo
from .framework import ERROR, MAX_NODE_SCORE, SKIP, CycleState, Status
from .model import Node, Pod
from .plugins.default_preemption import NO_NOMINATED, Preemption
from .profile import Profile
from .rand import SplitMix64

MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5


def num_feasible_nodes_to_find(percentage: int, n: int) -> int:
    if n < MIN_FEASIBLE_NODES_TO_FIND or percentage >= 100:
        return n
    pct = percentage
    if pct <= 0:
        pct = max(50 - n // 125, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    return max(n * pct // 100, MIN_FEASIBLE_NODES_TO_FIND)


@dataclass
class Result:
    pod: str
    node: str | None
    status: str  # scheduled / unschedulable / error
    feasible_nodes: int = 0
    evaluated_nodes: int = 0
    message: str | None = None
    reasons: dict[str, int] = field(default_factory=dict)
    scores: list[tuple[str, int, dict[str, int]]] | None = None
    nominated_node: str | None = None  # PostFilter: the nomination ("" clears it)
    victims: list[str] = field(default_factory=list)  # PostFilter: namespace/name


class _Failure(Exception):
    def __init__(self, result: Result) -> None:
        self.result = result


def fit_message(num_all: int, reasons: Mapping[str, int], pre_filter_msg: str | None) -> str:
    msg = f"0/{num_all} nodes are available:"
    if pre_filter_msg is not None:
        return f"{msg} {pre_filter_msg}."
    entries = sorted(f"{n} {r}" for r, n in reasons.items())
    return f"{msg} {', '.join(entries)}." if entries else msg


class Scheduler:
    def __init__(
        self,
        seed: int = 0,
        percentage_of_nodes_to_score: int = 0,
        profile: Profile | None = None,
    ) -> None:
        self.cache = Cache()
        self.profile = profile or Profile()
        self.percentage = percentage_of_nodes_to_score
        self.rng = SplitMix64(seed)
        self.next_start_node_index = 0
        self.preemption = Preemption()

    # Events

    def add_node(self, obj: Mapping[str, Any]) -> None:
        self.cache.add_node(Node.from_dict(obj))

    def remove_node(self, name: str) -> bool:
        return self.cache.remove_node(name)

    def set_namespace(self, obj: Mapping[str, Any]) -> str:
        meta = obj.get("metadata") or {}
        self.cache.set_namespace(meta["name"], dict(meta.get("labels") or {}))
        return str(meta["name"])

    def remove_namespace(self, name: str) -> bool:
        return self.cache.remove_namespace(name)

    def add_pod(self, obj: Mapping[str, Any]) -> None:
        self.preemption.record(obj)
        pod = Pod.from_dict(obj)
        self.cache.add_pod(pod, pod.node_name)

    def remove_pod(self, key: str) -> bool:
        return self.cache.remove_pod(key)

    # Scheduling

    def schedule_batch(self, objs: Sequence[Mapping[str, Any]]) -> list[Result]:
        for o in objs:
            self.preemption.record(o)
        return [self.schedule_one(Pod.from_dict(o)) for o in objs]

    def schedule_one(self, pod: Pod) -> Result:
        try:
            r = self._schedule_pod(pod)
        except _Failure as f:
            return f.result
        assert r.node is not None
        self.preemption.nominator.remove(f"{pod.namespace}/{pod.name}")
        self.cache.add_pod(pod, r.node)
        return r

    def _error(self, pod: Pod, plugin: str, msg: str) -> _Failure:
        return _Failure(
            Result(f"{pod.namespace}/{pod.name}", None, "error", message=f"running {plugin}: {msg}")
        )

    def _schedule_pod(self, pod: Pod) -> Result:
        key = f"{pod.namespace}/{pod.name}"
        cache, prof = self.cache, self.profile
        num_all = cache.num_nodes()
        if num_all == 0:
            raise _Failure(
                Result(key, None, "error", message="no nodes available to schedule pods")
            )

        def unschedulable(
            reasons: dict[str, int],
            pre: str | None,
            evaluated: int,
            codes: dict[str, str] | None = None,
            filters: list[Any] | None = None,
        ) -> _Failure:
            post = self.preemption.post_filter(cache, self.rng, state, pod, filters or [], codes)
            msg = fit_message(num_all, reasons, pre)
            if post.message:
                msg = f"{msg} {post.message}."
            return _Failure(
                Result(
                    key,
                    None,
                    "unschedulable",
                    evaluated_nodes=evaluated,
                    message=msg,
                    reasons=dict(reasons),
                    nominated_node=post.nominated_node,
                    victims=[f"{p.namespace}/{p.name}" for p in post.victims],
                )
            )

        state: CycleState = {}
        names: list[str] | None = None
        with_names: list[str] = []
        skipped: set[str] = set()
        for p in prof.pre_filter:
            pr = p.pre_filter(state, pod, cache)
            if isinstance(pr, Status):
                if pr.code == SKIP:
                    skipped.add(p.name)
                    continue
                if pr.rejected():
                    raise unschedulable({}, pr.message(), 0)
                raise self._error(pod, p.name, pr.message())
            if pr is not None:
                with_names.append(p.name)
                names = list(pr) if names is None else [n for n in names if n in pr]
                if not names:
                    msg = (
                        f"node(s) didn't satisfy plugin {with_names[0]}"
                        if len(with_names) == 1
                        else f"node(s) didn't satisfy plugin(s) [{' '.join(with_names)}] "
                        "simultaneously"
                    )
                    raise unschedulable({}, msg, 0)
        filters = [p for p in prof.filter if p.name not in skipped]

        if names is None:
            nodes = [cache.infos[n] for n in cache.order()]
        else:
            nodes = [i for i in (cache.get(n) for n in names) if i is not None]
        n = len(nodes)
        pct = (
            prof.percentage_of_nodes_to_score
            if prof.percentage_of_nodes_to_score is not None
            else self.percentage
        )
        to_find = num_feasible_nodes_to_find(pct, n)
        feasible: list[NodeInfo] = []
        failed: list[Status] = []
        codes: dict[str, str] = {}
        first = self.preemption.nominated_first(state, pod, cache, filters)
        if first is not None:
            return Result(key, first, "scheduled", 1, 1)
        if n > 0 and not prof.filter:
            feasible = [nodes[(self.next_start_node_index + k) % n] for k in range(to_find)]
        elif n > 0:
            start = self.next_start_node_index % n
            for k in range(n):
                info = nodes[(start + k) % n]
                nom = self.preemption.filter_with_nominated(state, pod, info, filters)
                if nom is not NO_NOMINATED:
                    if nom is None:
                        feasible.append(info)
                        if len(feasible) == to_find:
                            break
                    elif nom.code == ERROR:
                        raise self._error(pod, "", nom.message())
                    else:
                        failed.append(nom)
                        codes[info.name] = nom.code
                    continue
                for f in filters:
                    s = f.filter(state, pod, info)
                    if s is not None:
                        if s.code == ERROR:
                            raise self._error(pod, f.name, s.message())
                        failed.append(s)
                        codes[info.name] = s.code
                        break
                else:
                    feasible.append(info)
                    if len(feasible) == to_find:
                        break
            self.next_start_node_index = (start + len(feasible) + len(failed)) % n

        if not feasible:
            reasons: dict[str, int] = {}
            for s in failed:
                for r in s.reasons:
                    reasons[r] = reasons.get(r, 0) + 1
            if names is not None:
                absent = num_all - len(failed)
                if absent > 0:
                    r = f"node(s) didn't satisfy plugin(s) [{' '.join(with_names)}]"
                    reasons[r] = reasons.get(r, 0) + absent
            raise unschedulable(reasons, None, len(failed), codes, filters)
        evaluated = len(feasible) + len(failed)
        if len(feasible) == 1:
            return Result(key, feasible[0].name, "scheduled", 1, evaluated)

        score_skipped: set[str] = set()
        for p in prof.pre_score:
            ps = p.pre_score(state, pod, cache, feasible)
            if ps is None:
                continue
            if ps.code == SKIP:
                score_skipped.add(p.name)
            else:
                raise self._error(pod, p.name, ps.message())
        totals = [0] * len(feasible)
        per_plugin: list[tuple[str, list[int]]] = []
        for p in prof.score:
            if p.name in score_skipped:
                continue
            scores = [p.score(state, pod, info) for info in feasible]
            p.normalize(state, pod, scores)
            w = prof.weights[p.name]
            for k, v in enumerate(scores):
                if not 0 <= v <= MAX_NODE_SCORE:
                    raise self._error(
                        pod,
                        p.name,
                        f'plugin "{p.name}" returns an invalid score {v}, it should in the '
                        f"range of [0, {MAX_NODE_SCORE}] after normalizing",
                    )
                scores[k] = v * w
                totals[k] += v * w
            per_plugin.append((p.name, scores))

        best, count = 0, 0
        for k, t in enumerate(totals):
            if k == 0 or t > totals[best]:
                best, count = k, 1
            elif t == totals[best]:
                count += 1
                if self.rng.below(count) == 0:
                    best = k
        return Result(
            key,
            feasible[best].name,
            "scheduled",
            len(feasible),
            evaluated,
            scores=[
                (info.name, totals[k], {name: v[k] for name, v in per_plugin})
                for k, info in enumerate(feasible)
            ],
        )
