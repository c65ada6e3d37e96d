#!/usr/bin/env bash
# Every benchmark once, in an order that puts each direct run right after its Dagster counterpart (so
# both see similar load on a shared machine). Output: stdout and $NBA_BENCH_DIR/run_all.<time>.log;
# per-benchmark JSON in $NBA_BENCH_DIR/results/. 12-15 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-/work/venv/bin/python}
[ -x "$PY" ] || PY=.venv/bin/python
OUT=${NBA_BENCH_DIR:-/tmp/nba_bench}
mkdir -p "$OUT"
LOG="$OUT/run_all.$(date +%Y%m%dT%H%M%S).log"
{
  echo "== $(date -Is) $(git rev-parse --short HEAD) (dirty files: $(git status --porcelain | wc -l)); nproc $(nproc); $(grep MemTotal /proc/meminfo); load $(cut -d' ' -f1-3 /proc/loadavg)"
  "$PY" -c "import sys, dagster, duckdb, catboost, polars; print('python', sys.version.split()[0], 'dagster', dagster.__version__, 'duckdb', duckdb.__version__, 'catboost', catboost.__version__, 'polars', polars.__version__)"
  # cold: no dbt partial-parse state kept from earlier runs (the slate base's staging views carry no
  # project fingerprint either), as on the first run after a deploy
  rm -rf dbt_project/target/partial_parse
  "$PY" bench/bench_daily_slate.py --one-run
  "$PY" bench/bench_direct.py --which slate
  "$PY" bench/bench_daily_slate.py --one-run --warm
  "$PY" bench/bench_direct.py --which slate --warm
  "$PY" bench/bench_season_backfill.py
  "$PY" bench/bench_direct.py --which season
  "$PY" bench/bench_catboost_scoring.py
  "$PY" bench/bench_features_season.py
  echo "== done $(date -Is); load $(cut -d' ' -f1-3 /proc/loadavg)"
} 2>&1 | tee "$LOG"
