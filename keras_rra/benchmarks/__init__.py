"""Benchmarks that print measured numbers: `keras-rra benchmark ...`."""
