"""What a dbt invocation can reuse from earlier ones (leaf module: no dagster_dbt, no dbt imports).

* the staging views: they hold no rows and change only with the dbt project, so they are rebuilt only
  when the warehouse lacks them or they were built from another version of the project (a fingerprint of
  the project's files and the dbt version, kept as each view's comment in DuckDB), or while a raw table
  they read does not exist: a view built then reads an empty relation in its place
  (``dbt_project/macros/raw_table.sql``), so it is marked current only when every raw table existed
  before the build, and is rebuilt by the first context run after the table's first write;
* dbt's ``partial_parse.msgpack``, kept per profile (target and warehouse path) under
  ``dbt_project/target/partial_parse/``; dbt itself checks it against the project files, the profile,
  ``--vars`` and its version, and re-parses what changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
import time
from functools import cache
from importlib.metadata import version
from pathlib import Path

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
STAGING_SCHEMA = "staging"
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
KEEP_PARTIAL_PARSE_FILES = 16  # one per warehouse path (tests make many); the newest are kept
# dagster-dbt gives every invocation its own target folder (``<op>-<run id[:7]>-<uuid[:7]>``, or
# ``<uuid[:7]>`` outside a run: ``DbtCliResource._get_unique_target_path``) and never removes it
INVOCATION_DIR = re.compile(r"^(?:.+-)?[0-9a-f]{7}(?:-[0-9a-f]{7})?$")
KEEP_INVOCATION_DIRS = 20
# three times the max_runtime of the scheduled jobs that run dbt (2 h), and hours more than a layer job's
# context run over the whole history takes (minutes): no invocation still uses a folder this old
INVOCATION_DIR_MIN_AGE_S = 6 * 3600
_FINGERPRINT_PREFIX = "nba_assets dbt project "


@cache
def staging_views(manifest: Path) -> tuple[str, ...]:
    """The staging models' relation names (schema ``staging``), from a prepared manifest."""
    nodes = json.loads(Path(manifest).read_text())["nodes"].values()
    return tuple(
        sorted(
            n["alias"]
            for n in nodes
            if n["resource_type"] == "model" and n["original_file_path"].startswith("models/staging/")
        )
    )


@cache
def raw_sources(manifest: Path) -> tuple[tuple[str, str], ...]:
    """The raw tables the dbt project reads, as ``(schema, table)``, from a prepared manifest."""
    sources = json.loads(Path(manifest).read_text())["sources"].values()
    return tuple(sorted((s["schema"], s["identifier"]) for s in sources))


def missing_raw_tables(warehouse: str | Path, manifest: Path) -> list[str]:
    """The raw tables (``schema.table``) the dbt project reads that the DuckDB warehouse lacks (all of
    them when the warehouse file does not exist yet)."""
    import duckdb

    wanted = raw_sources(manifest)
    if not Path(warehouse).exists():
        return [f"{schema}.{table}" for schema, table in wanted]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        present = set(
            con.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal").fetchall()
        )
    return [f"{schema}.{table}" for schema, table in wanted if (schema, table) not in present]


def project_fingerprint(project_dir: Path = DBT_PROJECT_DIR) -> str:
    """A digest of every file of the dbt project that shapes what dbt builds (models, macros, tests,
    project and profiles) and of the dbt-core version: another value means the views may differ."""
    h = hashlib.sha256(version("dbt-core").encode())
    files = [project_dir / "dbt_project.yml", project_dir / "profiles.yml"]
    for sub in ("models", "macros", "tests"):
        files += sorted(p for p in (project_dir / sub).rglob("*") if p.suffix in (".sql", ".yml", ".yaml"))
    for path in files:
        if path.exists():
            h.update(str(path.relative_to(project_dir)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:24]


def staging_is_current(warehouse: str | Path, fingerprint: str, manifest: Path) -> bool:
    """Whether every staging view exists in the DuckDB warehouse with this project fingerprint and every
    raw table they read exists (a view built while its table was missing reads no rows: rebuilt)."""
    import duckdb

    if not Path(warehouse).exists() or missing_raw_tables(warehouse, manifest):
        return False
    with duckdb.connect(str(warehouse)) as con:
        rows = con.sql(
            "SELECT view_name, comment FROM duckdb_views() WHERE schema_name = ? AND NOT internal",
            params=[STAGING_SCHEMA],
        ).fetchall()
    comments = dict(rows)
    return all(comments.get(v) == _FINGERPRINT_PREFIX + fingerprint for v in staging_views(manifest))


def mark_staging_current(warehouse: str | Path, fingerprint: str, manifest: Path) -> None:
    """Record on each staging view the fingerprint of the project that built it (dbt's next
    ``create or replace view`` drops the comment, so a failed rebuild never looks current). Call it only
    for a build that started with every raw table present (:func:`missing_raw_tables` empty before it)."""
    import duckdb

    with duckdb.connect(str(warehouse)) as con:
        for view in staging_views(manifest):
            # identifiers come from the manifest; the comment is a literal made of hex digits
            con.execute(f"COMMENT ON VIEW {STAGING_SCHEMA}.{view} IS '{_FINGERPRINT_PREFIX}{fingerprint}'")


def partial_parse_cache(project_dir: str | Path, target: str, warehouse: str) -> Path:
    """Where dbt's partial-parse state for this profile (target, warehouse path) is kept."""
    key = hashlib.sha256(f"{target}\0{warehouse}".encode()).hexdigest()[:16]
    return Path(project_dir) / "target" / "partial_parse" / f"{key}.msgpack"


def seed_partial_parse(cache_file: Path, target_dir: Path) -> None:
    """Put the kept state into an invocation's (fresh) target directory, if there is one."""
    if not cache_file.exists():
        return
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cache_file, target_dir / PARTIAL_PARSE_FILE)
    except OSError:
        pass


def keep_partial_parse(target_dir: Path, cache_file: Path) -> None:
    """After an invocation: keep the state dbt wrote into its target directory, for the next one."""
    written = Path(target_dir) / PARTIAL_PARSE_FILE
    if not written.exists():
        return
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_name(f"{cache_file.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        shutil.copyfile(written, tmp)
        os.replace(tmp, cache_file)  # atomic: a concurrent reader sees the old or the new file
        files = sorted(cache_file.parent.glob("*.msgpack"), key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in files[KEEP_PARTIAL_PARSE_FILES:]:
            stale.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only install only loses the speed-up


def prune_invocation_dirs(
    target_root: Path,
    keep: int = KEEP_INVOCATION_DIRS,
    min_age_s: float = INVOCATION_DIR_MIN_AGE_S,
    now: float | None = None,
) -> list[Path]:
    """Remove the invocation target folders dagster-dbt left under ``target_root`` (about 2.5 MB each:
    manifest, logs, compiled SQL; a long-lived ``dagster dev`` gathered 106 of them, 258 MB) but the
    newest ``keep`` and any younger than ``min_age_s`` (a run may still be writing to it); the removed
    folders. Other folders (``partial_parse``) and files are left; an error only leaves a folder."""
    now = time.time() if now is None else now
    try:
        found = [p for p in target_root.iterdir() if p.is_dir() and INVOCATION_DIR.match(p.name)]
        aged = sorted(((p.stat().st_mtime, p) for p in found), reverse=True)
    except OSError:
        return []
    removed = []
    for mtime, path in aged[keep:]:
        if now - mtime >= min_age_s:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def rows_by_date(warehouse: str | Path, schema: str, table: str, first: str, last: str) -> dict[str, int]:
    """Rows of ``schema.table`` per game date (``YYYY-MM-DD``) from ``first`` to ``last`` in the DuckDB
    warehouse: a context table's per-partition row count, read once dbt has written it. Dates without
    rows are absent; a missing table gives ``{}``."""
    import duckdb

    from nba_assets.lib.storage.duckdb_io import ident

    with duckdb.connect(str(warehouse), read_only=True) as con:
        exists = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?", [schema, table]
        ).fetchone()
        if not exists or not exists[0]:
            return {}
        rows = con.execute(
            f"SELECT CAST(game_date AS VARCHAR), count(*) FROM {ident(schema)}.{ident(table)} "  # noqa: S608 (identifiers checked, values bound)
            "WHERE game_date BETWEEN CAST(? AS DATE) AND CAST(? AS DATE) GROUP BY 1",
            [first, last],
        ).fetchall()
    return {day: int(n) for day, n in rows}
