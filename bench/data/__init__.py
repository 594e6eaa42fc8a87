"""Benchmark data that lives in the repository: the original stdin problems (as code: each
problem's hidden tests come from a seeded generator at run time, so no test data is stored)."""
