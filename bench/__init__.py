"""`make bench`: time the pipeline on NCCI- and ICD-10-CM-scale editions against baselines.

Everything is generated from fixed seeds into a temporary directory, so two runs on
the same machine measure the same bytes; only `bench/results.json` is kept.
"""
