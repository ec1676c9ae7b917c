"""Scheduled ingestion of job postings from Apify into candidates' recommendations."""

from jobs_pipeline.definitions import defs

__all__ = ["defs"]
