"""``make bench``: the benchmark harness (``python -m tests.bench.run``) and its scale-dataset generator."""
