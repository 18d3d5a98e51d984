"""Benchmarks, run from the checkout as ``python -m bench.NAME``.

Each prints a table, then one JSON line.
"""
