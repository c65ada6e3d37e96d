"""The Dagster UI as a user sees it: dagster-webserver on a materialized instance, driven by headless Chromium.

Skipped only when no Chromium binary is found: ``$CHROMIUM_PATH``, else ``chromium``, ``chromium-browser``,
``google-chrome`` or ``google-chrome-stable`` on PATH (on Debian: ``apt-get install chromium``). Playwright's
Python package (the ``dev`` extra) drives that system binary through ``executable_path``; Playwright's own
browser downloads are never used.

The instance is built in a tmp dir through the real jobs, as the day flow runs them: raw -> context ->
features for 2025-10-21 .. 2025-11-05 (one range run each), a small CatBoost model with cutoff 2025-11-04,
predictions for 2025-11-04 .. 2025-11-05, grading of 2025-11-04 and the report of 2025-11-05 (about 2-3
minutes on 2 cores, mostly dbt). Then ``dagster-webserver -w workspace.yaml`` serves it on a free loopback
port. Screenshots go to ``$NBA_ASSETS_UI_ARTIFACTS`` (default: a pytest tmp dir, printed); set
``$NBA_ASSETS_UI_DATA_DIR`` to keep the built instance for the next run.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

REPO = Path(__file__).resolve().parents[1]
D, Y = "2025-11-05", "2025-11-04"
HISTORY = ("2025-10-21", D)
GROUPS = ("raw", "staging", "context", "features", "models", "predictions", "grading", "reports")


def find_chromium() -> str | None:
    override = os.environ.get("CHROMIUM_PATH")
    if override:
        return override if Path(override).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


CHROMIUM = find_chromium()
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no Chromium binary found (CHROMIUM_PATH unset or missing; none of chromium, chromium-browser, "
        "google-chrome, google-chrome-stable on PATH): install one (Debian: apt-get install chromium) to run "
        "the UI test",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _address_in_use(log: str) -> bool:
    """The webserver's log says it could not bind its port (uvicorn: ``[Errno 98] ... address already
    in use``)."""
    return "address already in use" in log.lower() or "errno 98" in log.lower()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    path = Path(os.environ.get("NBA_ASSETS_UI_ARTIFACTS") or tmp_path_factory.mktemp("ui_artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    print(f"UI screenshots in {path}")
    return path


BUILT = ".ui_instance_built"


def build_instance(root: Path) -> None:
    """Materialize the instance the UI shows (see the module doc) into ``root``."""
    from nba_assets.defs.build import build_definitions
    from nba_assets.lib.env import Settings

    home = root / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    # nux off: the webserver's first-visit "join the community" dialog would cover the page
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n")
    defs = build_definitions(Settings(data_dir=root))

    def run(instance: dg.DagsterInstance, job: str, partition: str | None = None, span=None, **kw) -> None:
        tags = (
            {"dagster/asset_partition_range_start": span[0], "dagster/asset_partition_range_end": span[1]}
            if span
            else {}
        )
        result = defs.resolve_job_def(job).execute_in_process(
            instance=instance, partition_key=partition, tags=tags, raise_on_error=False, **kw
        )
        assert result.success, f"{job} failed while building the UI test's instance"

    train = {
        "cutoff": Y,
        "iterations": 100,
        "validation_days": 4,
        "validation_min_rows": 300,
        "min_train_rows": 300,
    }
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for job in ("ingest_raw_job", "build_context_job", "build_features_job"):
            run(instance, job, span=HISTORY)
        run(instance, "weekly_retrain_job", run_config={"ops": {"models__points_model": {"config": train}}})
        run(instance, "predict_job", span=(Y, D))
        run(instance, "grade_job", Y)
        run(instance, "report_job", D)
    (root / BUILT).touch()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """A data dir with its own DAGSTER_HOME. ``$NBA_ASSETS_UI_DATA_DIR`` keeps it between runs: built
    there the first time, copied from there afterwards (the build is most of the test's time)."""
    keep = os.environ.get("NBA_ASSETS_UI_DATA_DIR")
    if keep and (Path(keep) / BUILT).exists():
        root = tmp_path_factory.mktemp("ui") / "instance"
        shutil.copytree(keep, root, ignore=shutil.ignore_patterns("webserver.log"))
        return root
    root = Path(keep) if keep else tmp_path_factory.mktemp("ui_instance")
    build_instance(root)
    return root


@pytest.fixture(scope="module")
def webserver(data_dir: Path) -> Iterator[str]:
    env = {
        **os.environ,
        "DAGSTER_HOME": str(data_dir / "dagster_home"),
        "NBA_ASSETS_DATA_DIR": str(data_dir),
        "NBA_ASSETS_ENV": "local",
    }
    log_path = data_dir / "webserver.log"
    # The free port is released before the webserver binds it, so another process can take it in
    # between: a start that ends on an address in use is retried on a new port; any other exit, or no
    # answer in 180 s, fails the tests.
    for attempt in range(3):
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        with log_path.open("w") as log:
            proc = subprocess.Popen(
                [str(Path(sys.executable).parent / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port)]
                + ["-w", "workspace.yaml"],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its code server is a child: stopped with it as one process group
            )
        try:
            if _answers(proc, base, deadline=time.monotonic() + 180):
                break
            if proc.poll() is None:
                pytest.fail(f"dagster-webserver did not answer in 180 s; see {log_path}")
            if attempt == 2 or not _address_in_use(log_path.read_text(errors="replace")):
                pytest.fail(f"dagster-webserver exited ({proc.returncode}); see {log_path}")
        except BaseException:
            _stop(proc)
            raise
    try:
        yield base
    finally:
        _stop(proc)


def _answers(proc: subprocess.Popen, base: str, deadline: float) -> bool:
    """Poll ``/server_info`` until it answers 200 (True), the process exits or the deadline passes (False)."""
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/server_info", timeout=5) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(1)
    return False


def _stop(proc: subprocess.Popen) -> None:
    try:  # the group: the webserver and its code server
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return  # all gone
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def _location_name(base: str) -> str:
    """The code location's name as the webserver reports it (workspace.yaml leaves it to Dagster)."""
    query = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"
    req = urllib.request.Request(
        base + "/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    deadline = time.monotonic() + 120
    while True:
        with urllib.request.urlopen(req, timeout=30) as r:
            entries = json.load(r)["data"]["workspaceOrError"]["locationEntries"]
        if entries and entries[0]["loadStatus"] == "LOADED":
            return entries[0]["name"]
        if time.monotonic() > deadline:
            pytest.fail(f"code location did not load: {entries}")
        time.sleep(1)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        pytest.fail("Chromium is here but playwright is not: pip install -e '.[dev]'", pytrace=False)
    # the UI loads in steps (GraphQL after the page): wait for text up to 60 s, not Playwright's 5 s
    expect.set_options(timeout=60_000)
    with sync_playwright() as p:
        # root in a container: Chromium's sandbox needs user namespaces it may not have
        b = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    context.set_default_timeout(60_000)
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()


def _open(page, url: str) -> None:
    page.goto(url, wait_until="networkidle", timeout=90_000)


def _metadata_row(page, label: str):
    """The row of the materialization's metadata table whose label cell is exactly ``label``."""
    return page.locator("tr").filter(has=page.get_by_text(label, exact=True)).first


def _open_markdown(page, label: str):
    """The rendered markdown of metadata row ``label``: the UI shows markdown of 1,000 characters or more
    behind "[Show Markdown]" (a dialog), shorter markdown in the row itself."""
    from playwright.sync_api import expect

    row = _metadata_row(page, label)
    expect(row).to_be_visible()
    button = row.get_by_text("[Show Markdown]")
    if not button.count():
        return row
    button.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    return dialog


def test_asset_graph_shows_every_group_and_the_predictions_lineage(webserver, page, artifacts) -> None:
    from playwright.sync_api import expect

    _open(page, webserver + "/asset-groups")
    for group in GROUPS:
        expect(page.get_by_text(group, exact=True).first).to_be_visible()
    page.screenshot(path=str(artifacts / "asset_groups.png"))

    location = _location_name(webserver)
    _open(page, f"{webserver}/locations/{location}/asset-groups/predictions")
    for name in (
        "player_points_predictions",
        "player_features",
        "points_model",
        "player_props",
        "daily_report",
    ):
        expect(page.get_by_text(name, exact=True).first).to_be_visible()
    page.screenshot(path=str(artifacts / "group_predictions.png"))

    _open(page, f"{webserver}/locations/{location}/asset-groups/reports")
    for name in ("daily_report", "player_points_predictions", "prediction_grades"):
        expect(page.get_by_text(name, exact=True).first).to_be_visible()
    page.screenshot(path=str(artifacts / "group_reports.png"))


def test_predictions_materialization_shows_the_picks(webserver, data_dir, page, artifacts) -> None:
    from playwright.sync_api import expect

    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        picks = con.sql(
            "SELECT * FROM predictions.player_points_predictions WHERE system = 'catboost' AND actionable "
            "AND is_main_line"
        ).pl()
    assert picks.height, "the instance has no catboost pick to look for"

    _open(page, webserver + "/assets/predictions/player_points_predictions?view=events")
    expect(page.get_by_text(f"Partition {D} materialized").first).to_be_visible()
    for label in ("picks_catboost_main_lines", "calls_by_system", "models_used", "players"):
        expect(_metadata_row(page, label)).to_be_visible()
    expect(_metadata_row(page, "picks_catboost_main_lines")).to_contain_text(str(picks.height))
    page.screenshot(path=str(artifacts / "predictions_events.png"))

    dialog = _open_markdown(page, "picks")
    for column in ("player_name", "bookmaker", "p_over", "recommendation", "tier"):
        expect(dialog.get_by_text(column, exact=True)).to_be_visible()
    shown = dialog.inner_text()
    assert any(name in shown for name in picks["player_name"].unique().to_list()), shown[:500]
    assert ("OVER" in shown) or ("UNDER" in shown)
    page.screenshot(path=str(artifacts / "predictions_picks.png"))


def test_report_and_performance_metadata_render(webserver, data_dir, page, artifacts) -> None:
    from playwright.sync_api import expect

    _open(page, webserver + "/assets/reports/daily_report?view=events")
    expect(page.get_by_text(f"Partition {D} materialized").first).to_be_visible()
    expect(_metadata_row(page, "html")).to_contain_text(f"reports/{D}/report.html")
    expect(_metadata_row(page, "last_graded_day")).to_contain_text(Y)
    dialog = _open_markdown(page, "picks")
    expect(dialog.get_by_text("player_name", exact=True)).to_be_visible()
    page.screenshot(path=str(artifacts / "daily_report_picks.png"))

    _open(page, webserver + "/assets/grading/system_performance?view=events")
    for label in ("calibration", "hit_rate_by_tier"):
        dialog = _open_markdown(page, label)
        img = dialog.locator("img")
        expect(img).to_be_visible()
        assert img.get_attribute("src").startswith("data:image/png;base64,")
        # decode() waits for the image (a data: URI decodes asynchronously; `complete` read once can be
        # early) and rejects on a broken one, which fails the evaluate
        assert img.evaluate("e => e.decode().then(() => e.naturalWidth > 100 && e.naturalHeight > 100)")
        page.screenshot(path=str(artifacts / f"system_performance_{label}.png"))
        dialog.get_by_role("button", name="Close").click()
        expect(dialog).to_be_hidden()


def test_html_report_renders_without_the_network(data_dir, page, artifacts) -> None:
    from playwright.sync_api import expect

    html_path = data_dir / "objects" / "reports" / D / "report.html"
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    _open(page, html_path.as_uri())
    expect(page.get_by_role("heading", name="Today's picks")).to_be_visible()
    expect(page.get_by_role("heading", name="Coverage")).to_be_visible()
    assert page.locator("img").count() == 2
    assert page.evaluate(
        "() => Promise.all([...document.images].map(i => i.decode().then(() => i.naturalWidth > 100)))"
        ".then(ok => ok.every(Boolean))"
    )
    assert all(u.startswith(("file:", "data:")) for u in requested), requested
    picks = pl.read_csv(data_dir / "objects" / "reports" / D / "picks.csv")
    top = picks.filter((pl.col("system") == "catboost") & pl.col("actionable") & pl.col("is_main_line"))
    if top.height:
        expect(page.get_by_text(top["player_name"][0], exact=True).first).to_be_visible()
    page.screenshot(path=str(artifacts / "report_html.png"), full_page=True)
