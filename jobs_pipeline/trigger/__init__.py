"""Authenticated HTTP service that starts `ingest_jobs` runs through Dagster's GraphQL API.

Start it with `python -m jobs_pipeline.trigger`; see docs/trigger.md for the endpoints.
"""
