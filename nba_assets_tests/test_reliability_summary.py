"""The reliability figures under pytest-xdist (``scripts/dev.sh test`` runs a worker per core): the
controller sums what each worker measured, and says so when a worker crashed and took its figures with
it. Each test runs a small pytest session of its own on two workers, in a subprocess."""

import json
import os
import subprocess
import sys
from pathlib import Path

from nba_assets_tests.conftest import REPO_ROOT

FILES = {
    "conftest.py": "from nba_assets_tests.conftest import pytest_testnodedown  # noqa: F401\n",
    "test_reliability_a.py": (
        "from nba_assets_tests.test_reliability_support import add, reliability_figures  # noqa: F401\n\n"
        "def test_a():\n"
        "    add('faults_tried', 3)\n"
    ),
    "test_reliability_b.py": (
        "import os\n\n"
        "from nba_assets_tests.test_reliability_support import add, reliability_figures  # noqa: F401\n\n"
        "def test_b():\n"
        "    add('faults_tried', 4)\n\n"
        "def test_then_the_worker_dies():\n"
        "    if os.environ.get('KILL_WORKER'):\n"
        "        os._exit(1)\n"
    ),
    "pytest.ini": "[pytest]\n",
}


def _run(tmp_path: Path, kill_worker: bool) -> tuple[str, dict]:
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    summary = tmp_path / "summary.json"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "NBA_RELIABILITY_SUMMARY": str(summary)}
    for name in [k for k in env if k.startswith("PYTEST_")] + ["KILL_WORKER"]:
        env.pop(name, None)  # this run's own (an outer xdist worker's names among them)
    if kill_worker:
        env["KILL_WORKER"] = "1"
    args = ["-n", "2", "--dist", "loadfile", "--max-worker-restart", "0", "-p", "no:cacheprovider"]
    out = subprocess.run(
        [sys.executable, "-m", "pytest", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return out.stdout + out.stderr, json.loads(summary.read_text())


def test_the_figures_of_every_worker_are_summed(tmp_path: Path) -> None:
    output, figures = _run(tmp_path, kill_worker=False)
    assert "reliability: faults tried 7," in output, output
    assert figures["faults_tried"] == 7 and figures["workers_crashed"] == 0
    assert "PARTIAL" not in figures["summary"]


def test_a_crashed_worker_makes_the_summary_partial_not_silently_smaller(tmp_path: Path) -> None:
    """The worker running test_reliability_b.py dies: its 4 faults never reach the controller, so the
    total (3) is not the run's, and the summary and the JSON say that a worker's figures are missing."""
    output, figures = _run(tmp_path, kill_worker=True)
    assert figures["faults_tried"] == 3 and figures["workers_crashed"] == 1, figures
    assert "PARTIAL: 1 pytest-xdist worker(s) crashed" in figures["summary"]
    assert "PARTIAL: 1 pytest-xdist worker(s) crashed" in output, output
