"""A pure-Python reference of kubemu-sched (rust/kubemu-sched), used only by tests.

Written from upstream kube-scheduler's formulas, file for file with the Rust crate's plugins, and
following the same documented deterministic choices (node order, PreFilter node-name order,
SplitMix64 tie-break) so that both give the same decisions for the same seed.
"""
