"""One virtual band per protocol in :mod:`repsense.protocols` (same module names).

Each imports its protocol module for every byte it sends or parses; none re-implements a
protocol. Looked up by kind through :data:`repsense.emulate.DEVICE_KINDS`.
"""
