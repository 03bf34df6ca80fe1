"""Benchmarks of Open Channels against hand-written baselines measured in the same run.

`python -m bench` seeds a PostgreSQL dataset (bench/seed.py), starts the real server and a
hand-written Starlette + asyncpg endpoint (bench/baseline.py), drives both from a separate
process over real HTTP (bench/load.py) and prints one table, also written as JSON.
B2 fan-out and idle memory: bench/fanout.py; B3 ingest: bench/ingest.py; B4: bench/search.py;
B5: bench/statistics.py; B6: bench/statements.py; who and what they act on: bench/targets.py.
A ratio against a baseline of the same run survives a noisy machine, an absolute figure
does not.
"""
