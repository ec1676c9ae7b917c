# Sourced by the other scripts: installs the project into .venv when needed and sets the
# environment of the local Dagster instance. Safe to source again.
set -euo pipefail
project_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$project_root"

python_bin="${PYTHON:-python3}"
if ! "$python_bin" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "jobs_pipeline needs Python 3.11 or newer; $python_bin is $("$python_bin" -V 2>&1)." >&2
  echo "Set PYTHON to a newer interpreter, for example PYTHON=python3.12." >&2
  exit 1
fi
# Reinstall when pyproject.toml changed since the last install.
stamp=.venv/.installed
if [[ ! -f "$stamp" || pyproject.toml -nt "$stamp" ]]; then
  echo "Installing jobs_pipeline and its dependencies into .venv ..." >&2
  "$python_bin" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  .venv/bin/python -m pip check
  touch "$stamp"
fi
export PATH="$project_root/.venv/bin:$PATH"
export DAGSTER_HOME="${DAGSTER_HOME:-$project_root}"
export DAGSTER_DISABLE_TELEMETRY=1
