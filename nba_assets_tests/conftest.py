"""Shared test fixtures."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def script_module(name: str) -> ModuleType:
    """``scripts/<name>.py`` imported as a module (the scripts are not a package), its ``main`` not run."""
    path = REPO_ROOT / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shared_dir() -> Path:
    """The ``shared/`` folder that sits beside the repository (``../shared``), or ``$NBA_ASSETS_SHARED_DIR``.

    Resolved from the repo root, not a fixed path: CI clones the repo elsewhere with shared/ beside it.
    """
    override = os.environ.get("NBA_ASSETS_SHARED_DIR")
    return Path(override).resolve() if override else (REPO_ROOT.parent / "shared").resolve()


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """``shared/fixtures/real``: the recorded real API payloads."""
    path = shared_dir() / "fixtures" / "real"
    if not path.is_dir():
        # fail, not skip: a CI checkout without shared/ must not pass silently
        pytest.fail(f"recorded fixtures not found at {path}; set NBA_ASSETS_SHARED_DIR", pytrace=False)
    return path


@pytest.fixture(scope="session")
def local_fixtures_dir() -> Path:
    """``nba_assets_tests/fixtures``: hand-made fixtures that live with the tests."""
    return Path(__file__).resolve().parent / "fixtures"


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: the controller, as each worker finishes
def pytest_testnodedown(node: Any, error: object) -> None:
    from nba_assets_tests.test_reliability_support import merge_worker_figures

    # a worker that crashed (error set) sent no output: merge_worker_figures marks the figures partial
    merge_worker_figures(node.config, None if error is not None else getattr(node, "workeroutput", {}))
