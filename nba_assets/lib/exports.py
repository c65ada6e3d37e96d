"""The day's picks as CSV and JSON, a self-contained HTML report, and PNG plots for metadata.

Pure functions of frames (no warehouse, no Dagster): the ``reports/daily_report`` asset and
``nba-assets report`` both call :func:`build_daily_report` and only differ in where the bytes go.

* ``picks.csv`` / ``picks.json``: every prediction row of the date (each posted line, alternates too,
  x each system) with its call: the actionable ones are the picks, the others carry their skip reason.
  Values are data, not markup: a player's name is written as the source spelled it.
* ``report.html``: one file with no external resource (inline CSS, plots as ``data:`` PNG images):
  today's picks (``catboost`` and ``catboost_line``, actionable, main lines), the last graded day's
  record, rolling performance (7 / 30 days, season), the calls as first published before tip-off (30
  days, season: :mod:`nba_assets.lib.publications`), calibration and hit rate by tier plots, and
  coverage (lines, players, skip reasons). Every text that comes from data goes through
  :func:`html.escape`.

Bets are counted on the books' main lines at the offered prices, as in :mod:`nba_assets.lib.reports`
(alternate ladders are priced far from even).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from nba_assets.lib import grading, publications
from nba_assets.lib.game_types import games_to_play
from nba_assets.lib.metadata import markdown_table
from nba_assets.lib.modeling.config import DECISIONS, SYSTEMS
from nba_assets.lib.modeling.decisions import PREDICTION_SCHEMA
from nba_assets.lib.reports import best_picks, record_by_system

REPORT_SYSTEMS = ("catboost", "catboost_line")
# Days of grades before D the report reads (season to date needs up to ~300: Aug 1 .. June).
GRADES_WINDOW_DAYS = 300
BREAK_EVEN_110 = 110 / 210  # hit rate needed at -110 on both sides

EXPORT_COLUMNS = list(PREDICTION_SCHEMA)  # every column of a prediction row, in contract order
# Enough digits that a value never shows at a decision threshold it is below (an edge of 1.497 shown as
# 1.50 beside edge_below_threshold; P(side) 0.6186 shown as 0.62 beside the tier under 0.62)
_ROUND = {"predicted_points": 3, "edge": 3, "p_over": 4, "confidence": 4, "quality": 1}
_TIERS = tuple(name for name, _ in DECISIONS.tiers)


# ---------------------------------------------------------------- picks (CSV, JSON)


def export_rows(preds: pl.DataFrame) -> pl.DataFrame:
    """Every prediction row in :data:`EXPORT_COLUMNS` order: systems in their usual order, picks first
    (main lines, then by confidence), then the passes; numbers rounded for reading."""
    cols = [c for c in EXPORT_COLUMNS if c in preds.columns]
    order = {s: i for i, s in enumerate(SYSTEMS)}
    return (
        preds.select(cols)
        .with_columns([pl.col(c).round(d) for c, d in _ROUND.items() if c in cols])
        .with_columns(
            pl.col("system").replace_strict(order, default=len(order), return_dtype=pl.Int64).alias("_s")
        )
        .sort(
            [
                "game_date",
                "_s",
                "actionable",
                "is_main_line",
                "confidence",
                "player_name",
                "player_id",  # two players can share a name: a total order, whatever the rows' order
                "bookmaker",
                "line",
            ],
            descending=[False, False, True, True, True, False, False, False, False],
            nulls_last=True,
        )
        .drop("_s")
    )


def picks_csv(preds: pl.DataFrame) -> bytes:
    return export_rows(preds).write_csv().encode()


def _json_value(v: Any) -> Any:
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def picks_json(preds: pl.DataFrame, day: date) -> bytes:
    """``{"game_date", "columns", "coverage", "picks", "rows"}``: ``rows`` are the CSV's rows, ``picks``
    the actionable main-line rows of the report systems."""
    rows = export_rows(preds)
    records = [{k: _json_value(v) for k, v in r.items()} for r in rows.iter_rows(named=True)]
    picks = [r for r in records if r["actionable"] and r["is_main_line"] and r["system"] in REPORT_SYSTEMS]
    doc = {
        "game_date": day.isoformat(),
        "columns": rows.columns,
        "coverage": coverage(preds),
        "picks": picks,
        "rows": records,
    }
    return (json.dumps(doc, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n").encode()


def picks_markdown(preds: pl.DataFrame, limit: int = 25) -> str:
    """The report systems' picks (one per player and system) as a markdown table, for metadata."""
    frames = [f for f in (best_picks(preds, s) for s in REPORT_SYSTEMS) if f.height]
    if not frames:
        return "_no actionable picks on main lines_"
    picks = pl.concat(frames, how="diagonal_relaxed")
    return markdown_table(
        picks.with_columns(pl.col("p_over").round(2)),
        limit,
        [
            "system",
            "player_name",
            "team_abbr",
            "recommendation",
            "line",
            "bookmaker",
            "price",
            "predicted_points",
            "p_over",
            "tier",
            "books",
        ],
    )


# ---------------------------------------------------------------- coverage and performance


def coverage(preds: pl.DataFrame) -> dict[str, Any]:
    """Counts a reader checks first: games, players, books, lines; calls per system; skip reasons."""
    lines = preds.select("player_id", "bookmaker", "line", "is_main_line").unique()
    actionable = preds.filter(pl.col("actionable"))
    reasons = (
        preds.filter(pl.col("skip_reason").is_not_null())
        .group_by("skip_reason", "system")
        .agg(pl.len().alias("lines"), pl.col("player_id").n_unique().alias("players"))
        .sort("skip_reason", "system")
    )
    skipped: dict[str, dict[str, dict[str, int]]] = {}
    for reason, system, n_lines, n_players in reasons.iter_rows():
        skipped.setdefault(reason, {})[system] = {"lines": int(n_lines), "players": int(n_players)}
    return {
        "games": preds["game_id"].drop_nulls().n_unique(),  # a line of no scheduled game is no game
        "players": preds["player_id"].n_unique(),
        "books": preds["bookmaker"].n_unique(),
        "lines": lines.height,
        "main_lines": lines.filter(pl.col("is_main_line")).height,
        "alternate_lines": lines.filter(~pl.col("is_main_line")).height,
        "calls_by_system": {
            s: {
                "lines": int(actionable.filter(pl.col("system") == s).height),
                "main_lines": int(actionable.filter((pl.col("system") == s) & pl.col("is_main_line")).height),
                "players": int(
                    actionable.filter((pl.col("system") == s) & pl.col("is_main_line"))[
                        "player_id"
                    ].n_unique()
                ),
            }
            for s in sorted(preds["system"].unique().to_list(), key=_system_order)
        },
        "skipped": skipped,
        "model_versions": sorted(v for v in preds["model_version"].unique().to_list() if v),
    }


def _system_order(system: str) -> int:
    return SYSTEMS.index(system) if system in SYSTEMS else len(SYSTEMS)


def _has_grades(grades: pl.DataFrame) -> bool:
    return grades.height > 0 and "result" in grades.columns


def last_graded_day(grades: pl.DataFrame) -> date | None:
    return grades["game_date"].max() if _has_grades(grades) else None  # type: ignore[return-value]


def rolling_performance(grades: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Per system x window (7d, 30d, season) ending ``as_of``, all tiers, bets on main lines:
    :func:`nba_assets.lib.grading.performance` on the main-line rows (MAE is unchanged by the filter:
    it is over player-dates with a consensus main line)."""
    if not _has_grades(grades):
        return pl.DataFrame()
    perf = grading.performance(grades.filter(pl.col("is_main_line")), as_of)
    order = {"7d": 0, "30d": 1, "season": 2}
    return (
        perf.filter((pl.col("tier") == "all") & pl.col("window").is_in(list(order)))
        .with_columns(
            pl.col("window").replace_strict(order, return_dtype=pl.Int64).alias("_w"),
            pl.col("system").map_elements(_system_order, return_dtype=pl.Int64).alias("_s"),
        )
        .sort("_s", "_w")
        .drop("_s", "_w")
    )


def tier_record(grades: pl.DataFrame) -> pl.DataFrame:
    """Per system x confidence tier: :func:`nba_assets.lib.grading.bet_record` of the main lines."""
    if not _has_grades(grades):
        return grading.bet_record(
            pl.DataFrame(
                schema={
                    "system": pl.Utf8,
                    "tier": pl.Utf8,
                    "game_date": pl.Date,
                    "player_id": pl.Int64,
                    "result": pl.Utf8,
                    "profit": pl.Float64,
                }
            ),
            ["system", "tier"],
        )
    return grading.bet_record(grades.filter(pl.col("is_main_line")), ["system", "tier"])


def calibration_table(grades: pl.DataFrame, system: str, bins: int = 10) -> pl.DataFrame:
    """P(over) in ``bins`` equal bins vs the observed over rate, on main lines where the player played
    and the result was not a push: ``bin``, ``n``, ``mean_p``, ``over_rate``."""
    schema = {"bin": pl.Utf8, "n": pl.Int64, "mean_p": pl.Float64, "over_rate": pl.Float64}
    if not _has_grades(grades):
        return pl.DataFrame(schema=schema)
    r = grades.filter(
        (pl.col("system") == system)
        & pl.col("is_main_line")
        & pl.col("p_over").is_not_null()
        & pl.col("actual_points").is_not_null()
        & (pl.col("result") != "VOID")  # the player played
        & (pl.col("actual_points") != pl.col("line"))
    )
    if r.is_empty():
        return pl.DataFrame(schema=schema)
    b = (pl.col("p_over") * bins).floor().clip(0, bins - 1).cast(pl.Int64)
    return (
        r.with_columns(b.alias("_b"), (pl.col("actual_points") > pl.col("line")).cast(pl.Float64).alias("_o"))
        .group_by("_b")
        .agg(
            pl.len().cast(pl.Int64).alias("n"),
            # in value order: a float mean in row order moved in its last bits with the order the
            # warehouse returned the grades in (BigQuery: no set order)
            pl.col("p_over").sort().mean().alias("mean_p"),
            pl.col("_o").sort().mean().alias("over_rate"),
        )
        .sort("_b")
        .with_columns(
            pl.format(
                "{}-{}",
                (pl.col("_b") / bins).round(2).cast(pl.Utf8),
                ((pl.col("_b") + 1) / bins).round(2).cast(pl.Utf8),
            ).alias("bin")
        )
        .select(list(schema))
    )


# ---------------------------------------------------------------- plots (PNG bytes)


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    # no "Software" chunk: the same data gives the same bytes
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _figure(width: float, height: float) -> Any:
    # The object-oriented API: no pyplot, no global backend state (safe in the webserver's and the
    # daemon's processes); PNGs are rendered by Agg.
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=80)


def hit_rate_by_tier_png(grades: pl.DataFrame, systems: tuple[str, ...] = SYSTEMS) -> bytes | None:
    """Bars of hit rate per confidence tier and system (main lines), labelled with the decided bets;
    ``None`` when there is no decided bet (every bet pushed included)."""
    rec = tier_record(grades).filter(pl.col("hit_rate").is_not_null())
    if rec.is_empty():
        return None
    fig = _figure(6.4, 4.2)
    ax = fig.subplots()
    present = [s for s in systems if rec.filter(pl.col("system") == s).height]
    width = 0.8 / max(1, len(present))
    for i, system in enumerate(present):
        xs, ys, ns = [], [], []
        for j, tier in enumerate(_TIERS):
            t = rec.filter((pl.col("system") == system) & (pl.col("tier") == tier))
            if t.height and t["hit_rate"][0] is not None:
                xs.append(j + i * width)
                ys.append(float(t["hit_rate"][0]))
                ns.append(int(t["wins"][0] + t["losses"][0]))
        bars = ax.bar(xs, ys, width, label=system)
        for bar, n in zip(bars, ns, strict=True):
            ax.annotate(
                f"{n}",
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=7,
            )
    ax.axhline(BREAK_EVEN_110, color="k", ls="--", lw=1, label="break-even at -110")
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(_TIERS))], list(_TIERS))
    rates = rec["hit_rate"].drop_nulls()
    ax.set_ylim(min(0.3, float(rates.min()) - 0.05), max(0.75, float(rates.max()) + 0.08))  # type: ignore[arg-type]
    ax.set_ylabel("hit rate")
    ax.set_title("Hit rate by confidence tier (main lines; labels: decided bets)", fontsize=10)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3, frameon=False)
    return _png(fig)


def calibration_png(
    grades: pl.DataFrame, systems: tuple[str, ...] = SYSTEMS, min_n: int = 10
) -> bytes | None:
    """Predicted P(over) (bin means) vs observed over rate per system, with the diagonal; bins with
    fewer than ``min_n`` lines are left out (noise); ``None`` when nothing is left."""
    tables = {s: calibration_table(grades, s).filter(pl.col("n") >= min_n) for s in systems}
    tables = {s: t for s, t in tables.items() if t.height}
    if not tables:
        return None
    fig = _figure(4.8, 4.4)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfectly calibrated")
    for system, t in tables.items():
        ax.plot(t["mean_p"].to_list(), t["over_rate"].to_list(), marker="o", ms=4, label=system)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted P(over), binned")
    ax.set_ylabel("observed over rate")
    ax.set_title(f"Calibration (main lines; bins with >= {min_n} lines)", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    return _png(fig)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def markdown_image(alt: str, png: bytes | None, empty: str = "_no graded bets yet_") -> str:
    """A markdown image with the PNG inline (Dagster's UI renders ``data:`` images in md metadata)."""
    return f"![{alt}]({data_uri(png)})" if png else empty


def performance_plots(grades: pl.DataFrame, as_of: date) -> dict[str, str]:
    """``hit_rate_by_tier`` and ``calibration`` as markdown images, season to date through ``as_of``."""
    window = (
        grades.filter(pl.col("game_date").is_between(grading.season_start_of(as_of), as_of))
        if _has_grades(grades)
        else grades
    )
    return {
        "hit_rate_by_tier": markdown_image("hit rate by tier", hit_rate_by_tier_png(window)),
        "calibration": markdown_image("calibration", calibration_png(window)),
    }


# ---------------------------------------------------------------- the day's report


@dataclass
class DailyReport:
    day: date
    csv: bytes
    json: bytes
    html: bytes
    summary: dict[str, Any] = field(default_factory=dict)
    picks_md: str = ""

    def files(self) -> dict[str, tuple[bytes, str]]:
        """File name -> (bytes, content type)."""
        return {
            "picks.csv": (self.csv, "text/csv; charset=utf-8"),
            "picks.json": (self.json, "application/json"),
            "report.html": (self.html, "text/html; charset=utf-8"),
        }


def build_daily_report(
    preds: pl.DataFrame, grades: pl.DataFrame, day: date, published: pl.DataFrame | None = None
) -> DailyReport:
    """The report of ``day`` from its predictions, the grades before it and the graded publications
    before it (``grading/published_grades``; none given: none shown; rows on or after ``day`` are
    ignored)."""
    preds = preds.filter(pl.col("game_date") == day)
    if _has_grades(grades):
        grades = grades.filter(pl.col("game_date") < day)
    cov = coverage(preds)
    last = last_graded_day(grades)
    picks = {s: best_picks(preds, s) for s in REPORT_SYSTEMS}
    summary = {
        "game_date": day.isoformat(),
        "lines": cov["lines"],
        "players": cov["players"],
        "games": cov["games"],
        "picks": {s: p.height for s, p in picks.items()},
        "last_graded_day": last.isoformat() if last else None,
        "graded_days": grades["game_date"].n_unique() if _has_grades(grades) else 0,
    }
    return DailyReport(
        day=day,
        csv=picks_csv(preds),
        json=picks_json(preds, day),
        html=render_html(preds, grades, day, published).encode(),
        summary=summary,
        picks_md=picks_markdown(preds),
    )


# ---------------------------------------------------------------- HTML


_CSS = """
body{font:14px/1.45 -apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1d2433;margin:0;background:#f5f6f8}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px} h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d8dce3;padding-bottom:4px}
h3{font-size:15px;margin:16px 0 6px} .sub{color:#5b6475;margin:0 0 16px}
.cards{display:flex;flex-wrap:wrap;gap:10px} .card{background:#fff;border:1px solid #d8dce3;border-radius:6px;padding:8px 14px;min-width:110px}
.card b{display:block;font-size:20px} .card span{color:#5b6475;font-size:12px}
table{border-collapse:collapse;background:#fff;margin:6px 0 12px;font-size:13px}
th,td{border:1px solid #d8dce3;padding:4px 8px;text-align:right;white-space:nowrap}
th{background:#eef0f4} td.t,th.t{text-align:left}
.OVER{color:#0a7d32;font-weight:600} .UNDER{color:#b3261e;font-weight:600}
.tier{border-radius:4px;padding:0 6px;font-size:12px} .high{background:#d7f0dd} .medium{background:#fdf0c4} .low{background:#eceff3}
.plots{display:flex;flex-wrap:wrap;gap:16px} .plots img{background:#fff;border:1px solid #d8dce3}
.note{color:#5b6475;font-size:12px} .empty{color:#5b6475;font-style:italic}
"""


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def _num(v: Any, digits: int = 1, signed: bool = False) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:+.{digits}f}" if signed else f"{v:.{digits}f}"


def _pct(v: Any, signed: bool = False) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:+.1%}" if signed else f"{v:.1%}"


def _price(v: Any) -> str:
    if v is None:
        return "-"
    return f"+{v}" if v > 0 else str(v)


def _table(headers: list[str], rows: list[list[str]], left: int = 1) -> str:
    """``rows`` hold already escaped cells; the first ``left`` columns are text (left-aligned)."""
    th = "".join(f'<th class="t">{h}</th>' if i < left else f"<th>{h}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>"
        + "".join(f'<td class="t">{c}</td>' if i < left else f"<td>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


NO_LINES = (
    '<p class="empty">No line is offered for this date (none posted yet, or every line pulled): '
    "nothing was predicted, so there is no pick.</p>"
)


def _picks_section(preds: pl.DataFrame) -> str:
    if preds.is_empty():
        return NO_LINES
    out = []
    for system in REPORT_SYSTEMS:
        picks = best_picks(preds, system)
        out.append(f'<h3>{_e(system)} <span class="note">({picks.height} players)</span></h3>')
        if picks.is_empty():
            out.append('<p class="empty">No actionable pick on a main line.</p>')
            continue
        rows = [
            [
                _e(r["player_name"]),
                _e(r["team_abbr"]),
                f'<span class="{_e(r["recommendation"])}">{_e(r["recommendation"])}</span>',
                _num(r["line"]),
                _e(r["bookmaker"]),
                _e(_price(r["price"])),
                _num(r["predicted_points"]),
                _num(r["p_over"], 3),
                _num(r["edge"], 2, signed=True),
                f'<span class="tier {_e(r["tier"])}">{_e(r["tier"])}</span>',
                _e(r["books"]),
            ]
            for r in picks.iter_rows(named=True)
        ]
        out.append(
            _table(
                [
                    "Player",
                    "Team",
                    "Call",
                    "Line",
                    "Book",
                    "Price",
                    "Pred",
                    "P(over)",
                    "Edge",
                    "Tier",
                    "Books",
                ],
                rows,
                left=3,
            )
        )
    out.append(
        '<p class="note">One row per player: the main line with the highest confidence (ties: the better '
        "price, then the book first by name); Books = books whose main line carries the same call. Edge = predicted points - line.</p>"
    )
    return "\n".join(out)


def _record_section(grades: pl.DataFrame, day: date) -> str:
    last = last_graded_day(grades)
    if last is None:
        return '<p class="empty">No graded game before this date.</p>'
    g = grades.filter(pl.col("game_date") == last)
    rec = record_by_system(g)
    label = "yesterday" if last == day - timedelta(days=1) else "the last graded day"
    voids = (
        dict(
            g.filter(pl.col("result") == "VOID")
            .group_by("system")
            .agg(pl.col("player_id").n_unique())
            .iter_rows()
        )
        if g.height
        else {}
    )
    rows = []
    for r in sorted(rec.iter_rows(named=True), key=lambda r: _system_order(r["system"])):
        rows.append(
            [
                _e(r["system"]),
                _e(r["bets"] or 0),
                _e(f"{r['wins'] or 0}-{r['losses'] or 0}-{r['pushes'] or 0}"),
                _pct(r["hit_rate"]),
                _pct(r["roi"], signed=True),
                _num(r["mae"], 2),
                _num(r["line_mae"], 2),
                _e(r["player_games"]),
                _e(voids.get(r["system"], 0)),
            ]
        )
    head = (
        f'<p class="sub">{_e(last.isoformat())} ({_e(label)}): bets on main lines at the offered prices.</p>'
    )
    return head + _table(
        ["System", "Bets", "W-L-P", "Hit", "ROI", "MAE", "Line MAE", "Player-games", "Void players"], rows
    )


def _rolling_section(grades: pl.DataFrame, day: date) -> str:
    perf = rolling_performance(grades, day - timedelta(days=1))
    if perf.is_empty():
        return '<p class="empty">No graded game in the last season.</p>'
    rows = [
        [
            _e(r["system"]),
            _e(r["window"]),
            _e(r["n"]),
            _num(r["mae"], 2),
            _num(r["line_mae"], 2),
            _num(r["bias"], 2, signed=True),
            _e(r["bets"]),
            _e(f"{r['wins']}-{r['losses']}-{r['pushes']}"),
            _pct(r["hit_rate"]),
            _pct(r["roi"], signed=True),
        ]
        for r in perf.iter_rows(named=True)
    ]
    return (
        f'<p class="sub">Windows ending {_e((day - timedelta(days=1)).isoformat())}; season from '
        f"{_e(grading.season_start_of(day - timedelta(days=1)).isoformat())}. n = player-games with a consensus line; "
        "MAE vs the line's MAE on the same player-games.</p>"
        + _table(
            ["System", "Window", "n", "MAE", "Line MAE", "Bias", "Bets", "W-L-P", "Hit", "ROI"], rows, left=2
        )
    )


def _published_section(published: pl.DataFrame | None, day: date) -> str:
    as_of = day - timedelta(days=1)
    perf = publications.published_performance(pl.DataFrame() if published is None else published, as_of)
    if perf.is_empty():
        return (
            '<p class="empty">No call published before tip-off this season (a backfill or a replay of '
            "past dates publishes none).</p>"
        )
    rows = [
        [
            _e(r["system"]),
            _e(r["window"]),
            _e(r["bets"]),
            _e(r["record"]),
            _pct(r["roi"], signed=True),
            _num(r["clv_mean"], 2, signed=True),
            _pct(r["beat_close_share"]),
            _e(r["withdrawn_bets"]),
            _e(r["withdrawn_record"]),
        ]
        for r in sorted(perf.iter_rows(named=True), key=lambda r: (_system_order(r["system"]), r["window"]))
    ]
    # a season with calls published, but none in the last 30 days: say so rather than leave the rows out
    quiet = [w for w in publications.PERFORMANCE_WINDOWS if w not in set(perf["window"].to_list())]
    note = "".join(f'<p class="empty">No call published in the {w} window.</p>' for w in quiet)
    return (
        f'<p class="sub">Windows ending {_e(as_of.isoformat())}. Each call as first published before tip-off, '
        "graded at its published line and price (main lines), whatever later runs said: the calls a line "
        "move withdrew are in, and counted apart. CLV: points the book's line moved toward the call by "
        "tip-off.</p>"
        + _table(
            ["System", "Window", "Bets", "W-L-P", "ROI", "CLV", "Beat close", "Withdrawn", "Withdrawn W-L-P"],
            rows,
            left=2,
        )
        + note
    )


def _plots_section(grades: pl.DataFrame, day: date) -> str:
    as_of = day - timedelta(days=1)
    window = (
        grades.filter(pl.col("game_date").is_between(grading.season_start_of(as_of), as_of))
        if _has_grades(grades)
        else grades
    )
    imgs = []
    for alt, png in (
        ("Hit rate by confidence tier", hit_rate_by_tier_png(window)),
        ("Calibration of P(over)", calibration_png(window)),
    ):
        if png:
            imgs.append(f'<img alt="{_e(alt)}" src="{data_uri(png)}">')
    if not imgs:
        return '<p class="empty">No graded bet this season yet.</p>'
    return '<div class="plots">' + "".join(imgs) + "</div>"


def _coverage_section(preds: pl.DataFrame) -> str:
    if preds.is_empty():
        return NO_LINES
    cov = coverage(preds)
    calls = [
        [_e(s), _e(c["lines"]), _e(c["main_lines"]), _e(c["players"])]
        for s, c in cov["calls_by_system"].items()
    ]
    systems = list(cov["calls_by_system"])
    skipped = [
        [_e(reason)]
        + [_e(by.get(s, {}).get("lines", 0)) for s in systems]
        + [_e(max((v["players"] for v in by.values()), default=0))]
        for reason, by in sorted(cov["skipped"].items())
    ]
    out = [
        _table(
            ["Games", "Players", "Books", "Lines", "Main lines", "Alternates"],
            [
                [
                    _e(cov["games"]),
                    _e(cov["players"]),
                    _e(cov["books"]),
                    _e(cov["lines"]),
                    _e(cov["main_lines"]),
                    _e(cov["alternate_lines"]),
                ]
            ],
            left=0,
        ),
        "<h3>Calls by system</h3>",
        _table(["System", "Calls (all lines)", "Calls (main lines)", "Players picked"], calls),
        "<h3>Lines not called, by reason</h3>",
    ]
    if skipped:
        out.append(_table(["Reason"] + [_e(s) for s in systems] + ["Players (max)"], skipped))
    else:
        out.append('<p class="empty">Every line got a call.</p>')
    out.append(
        '<p class="note">low_quality / no_feature_row: the player is passed on every line (too little '
        "history); edge_below_threshold / probability_below_threshold: the line is too close to call; "
        "preseason_game / all_star_game: a game type the model is not built on, never predicted; "
        "unscheduled_game: the line's game is on no stored schedule (the schedule missed it).</p>"
    )
    return "\n".join(out)


def render_html(
    preds: pl.DataFrame, grades: pl.DataFrame, day: date, published: pl.DataFrame | None = None
) -> str:
    """The day's report as one HTML document: no script, no external stylesheet, font or image."""
    cov = coverage(preds)
    picks = {s: best_picks(preds, s).height for s in REPORT_SYSTEMS}
    cards = [
        (cov["games"], "games"),
        (cov["players"], "players with a line"),
        (cov["lines"], "lines posted"),
        (cov["books"], "books"),
    ] + [(n, f"{s} picks") for s, n in picks.items()]
    versions = ", ".join(cov["model_versions"]) or "-"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>NBA player points report {_e(day.isoformat())}</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f"<h1>NBA player points &mdash; {_e(day.isoformat())}</h1>",
        f'<p class="sub">Model {_e(versions)}. Picks are calls on the books\' main lines; bets are graded at the '
        "offered American prices.</p>",
        '<div class="cards">'
        + "".join(f'<div class="card"><b>{_e(n)}</b><span>{_e(label)}</span></div>' for n, label in cards)
        + "</div>",
        "<h2>Today's picks</h2>",
        _picks_section(preds),
        "<h2>Last graded day</h2>",
        _record_section(grades, day),
        "<h2>Rolling performance</h2>",
        _rolling_section(grades, day),
        "<h2>As first published</h2>",
        _published_section(published, day),
        "<h2>Season to date</h2>",
        _plots_section(grades, day),
        "<h2>Coverage</h2>",
        _coverage_section(preds),
        '<p class="note">Generated by nba_assets from the warehouse; the CSV and JSON beside this file hold '
        "every line with its call or skip reason.</p>",
        "</main></body></html>",
    ]
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------- reading the local warehouse


def read_report_inputs(warehouse: Path, day: date) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """D's predictions, and the grades and graded publications of the :data:`GRADES_WINDOW_DAYS` days
    before D, from a DuckDB warehouse (what the asset's inputs load). Missing tables read as empty
    frames."""

    def q(con: duckdb.DuckDBPyConnection, table: str, lo: date, hi: date) -> pl.DataFrame:
        schema, name = table.split(".")
        exists = con.sql(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            params=[schema, name],
        ).fetchall()
        if not exists:
            return pl.DataFrame()
        return con.sql(f"SELECT * FROM {table} WHERE game_date BETWEEN ? AND ?", params=[lo, hi]).pl()  # noqa: S608 (fixed table names)

    with duckdb.connect(str(warehouse), read_only=True) as con:
        preds = q(con, "predictions.player_points_predictions", day, day)
        before = day - timedelta(days=GRADES_WINDOW_DAYS), day - timedelta(days=1)
        grades = q(con, "grading.prediction_grades", *before)
        published = q(con, "grading.published_grades", *before)
    return preds, grades, published


SPAN_TABLES = ("predictions.player_points_predictions", "features.player_features")


def scheduled_games(warehouse: Path, day: date) -> int | None:
    """The modeled games (not preseason or All-Star, not postponed) ``raw/schedule`` holds for ``day``;
    None when nothing says whether the date has games: no schedule table, or ``day`` outside the dates
    it was written for (a date never ingested has no rows either)."""
    if not warehouse.exists():
        return None
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            lo, hi = con.execute("SELECT min(game_date), max(game_date) FROM raw.schedule").fetchall()[0]
            rows = con.execute(
                "SELECT game_id, status FROM raw.schedule WHERE game_date = ?", [day]
            ).fetchall()
    except duckdb.Error:
        return None
    if lo is None or not lo <= day <= hi:
        return None
    games = pl.DataFrame(rows, schema={"game_id": pl.Utf8, "status": pl.Utf8}, orient="row")
    return games_to_play(games).height


def game_date_span(warehouse: Path, table: str) -> tuple[date | None, date | None]:
    """First and last game_date of one of ``SPAN_TABLES``; (None, None) when the warehouse or the
    table does not exist. Each table has its own literal query: identifiers never come from data."""
    if table not in SPAN_TABLES:
        raise ValueError(f"game_date_span: {table!r} is not one of {SPAN_TABLES}")
    if not warehouse.exists():
        return None, None
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            if table == "features.player_features":
                rel = con.sql("SELECT min(game_date), max(game_date) FROM features.player_features")
            else:
                rel = con.sql(
                    "SELECT min(game_date), max(game_date) FROM predictions.player_points_predictions"
                )
            lo, hi = rel.fetchall()[0]
    except duckdb.Error:
        return None, None
    return lo, hi
