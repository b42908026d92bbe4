"""One module per plugin, as rust/kubemu-sched/src/plugins."""
