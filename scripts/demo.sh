#!/usr/bin/env bash
# Run the ingest_jobs job once on the embedded defaults (local SQLite, local demo Apify server
# when APIFY_TOKEN is unset). Extra arguments go to `dagster job execute`.
source "$(dirname "$0")/env.sh"
dagster job execute -m jobs_pipeline -j ingest_jobs "$@"
jobs-pipeline report
