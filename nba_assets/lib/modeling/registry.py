"""Every model version in the object store, and which one is the champion.

models/points_model/<version>/model.cbm     the CatBoost model
models/points_model/<version>/meta.json     training window, features, params, validation metrics
models/points_model/<version>/holdout.cbm   the booster trained without the validation rows (the gate
                                            scores it against a later candidate of nearly the same window)
models/points_model/<version>/record.json   the registry's entry: cutoff, trained_at, validation MAE,
                                            promoted, the gate's figures; written last, so a version is
                                            listed only once all of it is stored

There is no shared index to rewrite: each training writes only its own version's objects, so two
trainings at once (the weekly schedule and a manual run) cannot lose each other's entry or promotion,
which a read-modify-write of one index object could. Version names are unique per training, so a
retrain of the same cutoff never overwrites the version it competes with. A date is served by the
promoted version with the newest cutoff on or before it (of those, the one trained last); the champion
is the one serving the newest dates. A ``registry.json`` index written before per-version records
existed is still read. An entry or a file that cannot be read raises :class:`RegistryError` naming the
object: the date is served by the version the registry says, or by none, never by another in its place.
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
HOLDOUT = "holdout.cbm"
LEGACY_INDEX = "registry.json"
# what :meth:`ModelRegistry.save` writes in a record (and the legacy index held for each version)
RECORD_FIELDS = ("version", "cutoff", "trained_at", "validation_mae", "promoted", "gate")


class RegistryError(ValueError):
    """A registry entry or model file is missing or unreadable; the message names the object."""


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
                index = self._json(legacy)
                if not isinstance(index, dict) or not isinstance(index.get("versions"), list):
                    raise RegistryError(f"model registry {self.store.uri(legacy)}: no list of versions")
                for entry in index["versions"]:
                    records[self._entry(entry, legacy)["version"]] = entry
            for key in self.store.list_keys(f"{self.prefix}/"):
                if key.endswith(f"/{RECORD}"):
                    entry = self._entry(self._json(key), key)
                    records[entry["version"]] = entry
            self._cached = sorted(
                records.values(), key=lambda v: (datetime.fromisoformat(v["trained_at"]), v["version"])
            )
        return self._cached

    def _json(self, key: str, data: bytes | None = None) -> Any:
        """The JSON object ``key`` (or its ``data``, already read)."""
        try:
            return json.loads(self.store.get_bytes(key) if data is None else data)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise RegistryError(f"model registry {self.store.uri(key)}: not JSON ({e})") from None

    def _entry(self, entry: Any, key: str) -> dict[str, Any]:
        """``entry`` (read from ``key``) when it holds every field of a record, with a date ``cutoff``,
        a timestamp ``trained_at`` and a true or false ``promoted``."""
        where = f"model registry {self.store.uri(key)}"
        if not isinstance(entry, dict):
            raise RegistryError(f"{where}: an entry is not an object ({type(entry).__name__})")
        missing = [f for f in RECORD_FIELDS if f not in entry]
        if missing:
            raise RegistryError(f"{where}: entry {entry.get('version')!r} lacks {', '.join(missing)}")
        for field, parse in (("cutoff", date.fromisoformat), ("trained_at", datetime.fromisoformat)):
            try:
                parse(entry[field])
            except (TypeError, ValueError):
                raise RegistryError(
                    f"{where}: entry {entry['version']!r} field '{field}' is not ISO (value: {entry[field]!r})"
                ) from None
        if not isinstance(entry["promoted"], bool):
            raise RegistryError(
                f"{where}: entry {entry['version']!r} field 'promoted' is not true or false "
                f"(value: {entry['promoted']!r})"
            )
        return entry

    def save(self, model: PointsModel, promoted: bool, gate: dict[str, Any]) -> None:
        """Store the version (always); when ``promoted`` it is the champion from now on."""
        blob, meta = model.to_bytes()
        self.store.put_bytes(f"{self.prefix}/{model.version}/model.cbm", blob)
        self.store.put_bytes(f"{self.prefix}/{model.version}/meta.json", meta)
        holdout = model.holdout_bytes()
        if holdout is not None:
            self.store.put_bytes(f"{self.prefix}/{model.version}/{HOLDOUT}", holdout)
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

    def _serving(self, until: date | None = None) -> str | None:
        """The promoted version with the newest cutoff (on or before ``until``); of those with that
        cutoff, the one trained last (a retrain of the same cutoff that passed the gate)."""
        eligible = [
            (date.fromisoformat(v["cutoff"]), i, v["version"])
            for i, v in enumerate(self._versions())  # oldest training first
            if v["promoted"] and (until is None or date.fromisoformat(v["cutoff"]) <= until)
        ]
        return max(eligible)[2] if eligible else None

    def champion_version(self) -> str | None:
        """The version serving the newest dates."""
        return self._serving()

    def load(self, version: str) -> PointsModel:
        """The stored version (without its hold-out booster when it was stored without one, before they
        were kept); a missing model, metadata or hold-out file, or one that cannot be read, raises
        :class:`RegistryError` naming it. A square-root version's params hold its hold-out booster's
        shift: it was stored with one, and the gate must not score it in sample for want of the file."""
        base = f"{self.prefix}/{version}"
        holdout = f"{base}/{HOLDOUT}"
        meta = self._file(f"{base}/meta.json", version)
        parsed = self._json(f"{base}/meta.json", meta)
        params = parsed.get("params") if isinstance(parsed, dict) else None
        try:
            blob = self._file(f"{base}/model.cbm", version)
            if isinstance(params, dict) and "holdout_target_shift" in params:
                holdout_blob: bytes | None = self._file(holdout, version)  # stored with one: it must be there
            else:  # a version stored before hold-outs were kept may have none
                holdout_blob = self.store.get_bytes(holdout) if self.store.exists(holdout) else None
            return PointsModel.from_bytes(blob, meta, holdout_blob)
        except RegistryError:
            raise
        except Exception as e:
            raise RegistryError(
                f"model registry {self.store.uri(base)}: version {version} cannot be loaded: {type(e).__name__}: {e}"
            ) from e

    def _file(self, key: str, version: str) -> bytes:
        if not self.store.exists(key):
            raise RegistryError(f"model registry {self.store.uri(key)}: version {version}'s file is missing")
        return self.store.get_bytes(key)

    def load_champion(self) -> PointsModel | None:
        version = self.champion_version()
        return self.load(version) if version else None

    def version_for(self, game_date: date) -> str | None:
        """Walk-forward: the promoted version with the newest cutoff on or before ``game_date`` (its
        training rows all precede the date). None when no such version exists."""
        return self._serving(game_date)

    def champion_for(self, cutoff: date) -> PointsModel | None:
        """What a candidate with this cutoff competes with: the version that would otherwise serve it."""
        version = self.version_for(cutoff)
        return self.load(version) if version else None

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
