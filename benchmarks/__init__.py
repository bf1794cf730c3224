"""Load and latency measurements (not tests): `make bench`."""
