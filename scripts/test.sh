#!/usr/bin/env bash
# Run the whole test suite. Extra arguments go to pytest.
source "$(dirname "$0")/env.sh"
pytest "$@"
