"""Benchmarks of kubemu (run them with ``python -m kubemu.bench.<name>``)."""
