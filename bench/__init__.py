"""The benchmark suite: ``python -m bench`` (``make bench``, ``make bench-smoke``); see BENCHMARKS.md."""
