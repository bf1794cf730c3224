"""Other implementations the benchmark measures ours against, each pinned by its own lock file
and installed by `make bench` only (CI never needs them)."""
