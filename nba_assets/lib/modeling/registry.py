"""Every model version in the object store, and which one is the champion.

models/points_model/<version>/model.cbm   the CatBoost model
models/points_model/<version>/meta.json   training window, features, params, validation metrics
models/points_model/registry.json         {"champion": version | null, "versions": [...]}
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from nba_assets.lib.modeling.train import PointsModel
from nba_assets.lib.storage.object_store import ObjectStore

PREFIX = "models/points_model"


class ModelRegistry:
    def __init__(self, store: ObjectStore, prefix: str = PREFIX) -> None:
        self.store = store
        self.prefix = prefix

    def _index(self) -> dict[str, Any]:
        key = f"{self.prefix}/registry.json"
        if not self.store.exists(key):
            return {"champion": None, "versions": []}
        return json.loads(self.store.get_bytes(key))

    def _write_index(self, index: dict[str, Any]) -> None:
        self.store.put_bytes(
            f"{self.prefix}/registry.json", json.dumps(index, indent=1, default=str).encode()
        )

    def save(self, model: PointsModel, promoted: bool, gate: dict[str, Any]) -> None:
        """Store the version (always) and make it champion when ``promoted``."""
        blob, meta = model.to_bytes()
        self.store.put_bytes(f"{self.prefix}/{model.version}/model.cbm", blob)
        self.store.put_bytes(f"{self.prefix}/{model.version}/meta.json", meta)
        index = self._index()
        index["versions"] = [v for v in index["versions"] if v["version"] != model.version]
        index["versions"].append(
            {
                "version": model.version,
                "cutoff": model.cutoff.isoformat(),
                "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "validation_mae": model.metrics["mae"],
                "promoted": promoted,
                "gate": gate,
            }
        )
        if promoted:
            index["champion"] = model.version
        self._write_index(index)

    def champion_version(self) -> str | None:
        return self._index()["champion"]

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
            v
            for v in self._index()["versions"]
            if v["promoted"] and date.fromisoformat(v["cutoff"]) <= game_date
        ]
        return max(eligible, key=lambda v: v["cutoff"])["version"] if eligible else None

    def versions_frame(self) -> pl.DataFrame:
        index = self._index()
        rows = [
            {
                "version": v["version"],
                "cutoff": v["cutoff"],
                "trained_at": v["trained_at"],
                "validation_mae": float(v["validation_mae"]),
                "promoted": bool(v["promoted"]),
                "is_champion": v["version"] == index["champion"],
                "gate": json.dumps(v["gate"], default=str),
            }
            for v in index["versions"]
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
