"""The ``kubemu`` command: one module per command group."""
