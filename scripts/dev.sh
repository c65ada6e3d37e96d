#!/usr/bin/env bash
# One entry point for a fresh machine: creates ./.venv (Python 3.11+), installs the project, then
#   scripts/dev.sh run    runs the main job on the embedded archive (no network, no keys)
#   scripts/dev.sh test   runs ruff (lint + format check), mypy (nba_assets) and the test suite (in
#                         parallel: pytest-xdist, a worker per core)
#   scripts/dev.sh slow   runs the long tests (season backfills) too
# Re-running skips the install when pyproject.toml and setup.cfg have not changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${NBA_ASSETS_VENV:-.venv}
# a relative NBA_ASSETS_VENV is under the repo; absolute from here on, since its bin/ goes on PATH below
case "$VENV" in /*) ;; *) VENV="$PWD/$VENV" ;; esac
usage() { echo "usage: scripts/dev.sh [run|test|slow] [args]" >&2; }
# The command is checked before the venv is made and the project installed (minutes on a fresh machine).
case "${1:-run}" in
  run | test | slow) ;;
  -h | --help) usage; exit 0 ;;
  *) echo "scripts/dev.sh: unknown command '$1'" >&2; usage; exit 2 ;;
esac

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -c 'import sys; assert sys.version_info >= (3, 11), "nba_assets needs Python 3.11+"'
  "$PY" -m venv "$VENV"
fi
stamp="$VENV/.nba_assets-installed"
want=$(sha256sum pyproject.toml setup.cfg | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e ".[dev]"
  echo "$want" > "$stamp"
fi
export PATH="$VENV/bin:$PATH"
# dbt manifest for the context layer (dbt parse: offline, no warehouse)
"$VENV/bin/python" -m nba_assets.lib.dbt_project >/dev/null

# pytest-xdist (dev extra): one worker per core (NBA_ASSETS_TEST_WORKERS=0 runs in one process); a test
# file stays on one worker, so its module fixtures (warehouses, instances, dbt builds) are built once.
xdist=(-n "${NBA_ASSETS_TEST_WORKERS:-auto}" --dist loadfile)

case "${1:-run}" in
  run)
    shift || true
    exec nba-assets main "$@"
    ;;
  test)
    shift || true
    ruff check nba_assets nba_assets_tests scripts bench
    ruff format --check nba_assets nba_assets_tests scripts bench
    mypy  # [tool.mypy] in pyproject.toml: nba_assets
    exec python -m pytest "${xdist[@]}" "$@"
    ;;
  slow)
    shift || true
    exec python -m pytest "${xdist[@]}" -m "slow or not slow" "$@"
    ;;
esac
