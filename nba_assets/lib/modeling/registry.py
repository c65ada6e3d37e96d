"""Every model version in the object store, and which one is the champion.

models/points_model/<version>/model.cbm     the CatBoost model
models/points_model/<version>/meta.json     training window, features, params, validation metrics
models/points_model/<version>/record.json   the registry's entry: cutoff, trained_at, validation MAE,
                                            promoted, the gate's figures; written last, so a version is
                                            listed only once all of it is stored

There is no shared index to rewrite: each training writes only its own version's objects, so two
trainings at once (the weekly schedule and a manual run) cannot lose each other's entry or promotion,
which a read-modify-write of one index object could. The champion is the promoted version trained
last. A ``registry.json`` index written before per-version records existed is still read.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from nba_assets.lib.modeling.train import PointsModel
from nba_assets.lib.storage.object_store import ObjectStore

PREFIX = "models/points_model"
RECORD = "record.json"
LEGACY_INDEX = "registry.json"


class ModelRegistry:
    def __init__(self, store: ObjectStore, prefix: str = PREFIX) -> None:
        self.store = store
        self.prefix = prefix
        self._cached: list[dict[str, Any]] | None = None  # read once per registry object, reset by save

    def _versions(self) -> list[dict[str, Any]]:
        """Every version's entry, oldest training first."""
        if self._cached is None:
            records = {}
            legacy = f"{self.prefix}/{LEGACY_INDEX}"
            if self.store.exists(legacy):
                for entry in json.loads(self.store.get_bytes(legacy))["versions"]:
                    records[entry["version"]] = entry
            for key in self.store.list_keys(f"{self.prefix}/"):
                if key.endswith(f"/{RECORD}"):
                    entry = json.loads(self.store.get_bytes(key))
                    records[entry["version"]] = entry
            self._cached = sorted(
                records.values(), key=lambda v: (datetime.fromisoformat(v["trained_at"]), v["version"])
            )
        return self._cached

    def save(self, model: PointsModel, promoted: bool, gate: dict[str, Any]) -> None:
        """Store the version (always); when ``promoted`` it is the champion from now on."""
        blob, meta = model.to_bytes()
        self.store.put_bytes(f"{self.prefix}/{model.version}/model.cbm", blob)
        self.store.put_bytes(f"{self.prefix}/{model.version}/meta.json", meta)
        record = {
            "version": model.version,
            "cutoff": model.cutoff.isoformat(),
            "trained_at": datetime.now(UTC).isoformat(timespec="microseconds"),
            "validation_mae": model.metrics["mae"],
            "promoted": promoted,
            "gate": gate,
        }
        self.store.put_bytes(
            f"{self.prefix}/{model.version}/{RECORD}",
            json.dumps(record, indent=1, default=str).encode(),
            content_type="application/json",
        )
        self._cached = None

    def champion_version(self) -> str | None:
        promoted = [v for v in self._versions() if v["promoted"]]
        return promoted[-1]["version"] if promoted else None

    def load(self, version: str) -> PointsModel:
        return PointsModel.from_bytes(
            self.store.get_bytes(f"{self.prefix}/{version}/model.cbm"),
            self.store.get_bytes(f"{self.prefix}/{version}/meta.json"),
        )

    def load_champion(self) -> PointsModel | None:
        version = self.champion_version()
        return self.load(version) if version else None

    def version_for(self, game_date: date) -> str | None:
        """Walk-forward: the newest promoted version whose cutoff is on or before ``game_date`` (its
        training rows all precede the date). None when no such version exists."""
        eligible = [
            v for v in self._versions() if v["promoted"] and date.fromisoformat(v["cutoff"]) <= game_date
        ]
        return max(eligible, key=lambda v: v["cutoff"])["version"] if eligible else None

    def versions_frame(self) -> pl.DataFrame:
        champion = self.champion_version()
        rows = [
            {
                "version": v["version"],
                "cutoff": v["cutoff"],
                "trained_at": v["trained_at"],
                "validation_mae": float(v["validation_mae"]),
                "promoted": bool(v["promoted"]),
                "is_champion": v["version"] == champion,
                "gate": json.dumps(v["gate"], default=str),
            }
            for v in self._versions()
        ]
        schema = {
            "version": pl.Utf8,
            "cutoff": pl.Utf8,
            "trained_at": pl.Utf8,
            "validation_mae": pl.Float64,
            "promoted": pl.Boolean,
            "is_champion": pl.Boolean,
            "gate": pl.Utf8,
        }
        return pl.DataFrame(rows, schema=schema).with_columns(pl.col("cutoff").str.to_date())
