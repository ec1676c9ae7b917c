"""Benchmarks of `ingest_jobs` against the floor of its own database work.

Run them with `python -m benchmarks --size tiny|small|scaling|large --repeat N` from the
project root. They need PostgreSQL on 127.0.0.1 and are not part of the timed test suite.
`docs/benchmarks.md` records a run and explains each measurement.
"""
