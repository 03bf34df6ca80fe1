"""Benchmarks of Open Channels against hand-written baselines measured in the same run.

`python -m bench` seeds a PostgreSQL dataset (bench/seed.py), starts the real server and a
hand-written Starlette + asyncpg endpoint (bench/baseline.py), drives both from a separate
process over real HTTP (bench/load.py) and prints one table, also written as JSON.
A ratio against a baseline of the same run survives a noisy machine, an absolute figure
does not.
"""
