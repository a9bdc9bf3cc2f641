"""`make bench`: side-by-side performance figures for issue 4. Start with `run.py`; results in BENCHMARKS.md."""
