"""Parser for the official NBA injury report PDF (pdfplumber).

The report is a table: Game Date, Game Time, Matchup, Team, Player Name, Current Status, Reason.
Cells are printed only when they change (date, time, matchup and team carry down, also across pages),
and a long cell wraps onto extra text lines placed *around* its row (vertically centred), e.g.::

                                            Injury/Illness - Right Forearm;
    McDermott, Doug            Out
                                            Contusion

Words are assigned to columns by the x-position of the header cells, grouped into text lines by their
``top``, and each text line without a status (a wrapped fragment) is merged into the nearest record
line: the wrap gap (~7 pt) is far smaller than the row pitch (~22 pt).

A report may be empty of players (an off day, or every team "NOT YET SUBMITTED"): a page with nothing
but its title, header and footer gives no rows. But a report whose text has no line with a status and
no "NOT YET SUBMITTED" line at all is not empty: its status column was not found where the layout puts
it (the layout changed), and it raises :class:`SourceDataError` rather than pass as a report of nobody.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pdfplumber
import polars as pl

from nba_assets.lib.errors import SourceDataError
from nba_assets.lib.parsers._common import INJURY_REPORT, frame, looks_like_html, team_code
from nba_assets.lib.schemas import INJURY_SCHEMA, INJURY_STATUSES

COLUMNS = ("date", "time", "matchup", "team", "player", "status", "reason")
# Left edges (pt) of the columns in the 2023-2025 layout; used when a page has no header row.
_DEFAULT_EDGES = (19.0, 116.0, 196.0, 260.0, 421.0, 582.0, 662.0)
_HEADER_WORDS = {
    "Matchup": "matchup",
    "Team": "team",
    "Player": "player",
    "Current": "status",
    "Reason": "reason",
}
_TITLE = re.compile(r"Injury Report:\s*(\d{2}/\d{2}/\d{2,4})\s+(\d{1,2}:\d{2})\s*([AP]M)", re.IGNORECASE)
_FOOTER = re.compile(r"^Page\s*\d+\s*of\s*\d+$", re.IGNORECASE)
_DATE = re.compile(r"^\d{2}/\d{2}/\d{4}$")
_MATCHUP = re.compile(r"^([A-Z]{2,3})@([A-Z]{2,3})$")
_LINE_TOLERANCE = 2.0  # pt: words whose tops differ less are on one text line
# Words closer than this are one word: pdfplumber's default (3) glues "Milwaukee Bucks" together here.
_X_TOLERANCE = 1.5


@dataclass
class _Line:
    top: float
    cells: dict[str, list[str]] = field(default_factory=dict)

    def text(self, col: str) -> str:
        return " ".join(self.cells.get(col, []))


def _check_body(pdf_bytes: bytes) -> None:
    source = INJURY_REPORT
    if not pdf_bytes:
        raise SourceDataError(source, "<body>", "is empty")
    if b"not accessible in this region" in pdf_bytes[:20000].lower():
        raise SourceDataError(
            source, "<body>", "is a geo-block page ('not accessible in this region'), not a PDF"
        )
    if looks_like_html(pdf_bytes):
        raise SourceDataError(
            source, "<body>", "is an HTML page, not a PDF", pdf_bytes[:60].decode("utf-8", "replace")
        )
    if not pdf_bytes.lstrip()[:5] == b"%PDF-":
        raise SourceDataError(source, "<body>", "is not a PDF", pdf_bytes[:20].decode("utf-8", "replace"))


def _edges_from_header(words: list[dict[str, Any]]) -> tuple[tuple[float, ...], float] | None:
    """Column left edges and the header's bottom, from the header row if this page has one."""
    found: dict[str, float] = {}
    bottom = 0.0
    game_words = sorted((w for w in words if w["text"] == "Game"), key=lambda w: w["x0"])
    for w in words:
        col = _HEADER_WORDS.get(w["text"])
        if col and col not in found:
            found[col] = w["x0"]
            bottom = max(bottom, w["bottom"])
    if len(found) < len(_HEADER_WORDS) or len(game_words) < 2:
        return None
    # Cell text starts ~1 pt right of the header text; leave a margin for slightly shifted cells.
    edges = (game_words[0]["x0"], game_words[1]["x0"], *(found[c] for c in COLUMNS[2:]))
    return tuple(x - 3.0 for x in edges), bottom


def _column(x0: float, edges: tuple[float, ...]) -> str:
    col = COLUMNS[0]
    for name, edge in zip(COLUMNS, edges, strict=True):
        if x0 >= edge:
            col = name
    return col


def _page_lines(
    page: Any, edges: tuple[float, ...] | None
) -> tuple[list[_Line], tuple[float, ...] | None, str]:
    words = page.extract_words(x_tolerance=_X_TOLERANCE, keep_blank_chars=False)
    header = _edges_from_header(words)
    start = 0.0
    if header:
        edges, start = header
    edges = edges or _DEFAULT_EDGES
    title = ""
    lines: list[_Line] = []
    for w in sorted(words, key=lambda w: (w["top"], w["x0"])):
        if w["top"] <= start:
            title += " " + w["text"] if w["top"] < start - 15 else ""
            continue
        if lines and abs(w["top"] - lines[-1].top) < _LINE_TOLERANCE:
            line = lines[-1]
        else:
            line = _Line(top=w["top"])
            lines.append(line)
        line.cells.setdefault(_column(w["x0"], edges), []).append(w["text"])
    kept = []
    for line in lines:
        joined = " ".join(" ".join(v) for v in line.cells.values())
        if _TITLE.search(joined):
            title += " " + joined
        elif not _FOOTER.match(joined.strip()):
            kept.append(line)
    return kept, edges, title


def _merge_fragments(lines: list[_Line]) -> list[_Line]:
    """Fold text lines without a status (wrapped cell fragments) into the nearest record line."""
    anchors = [ln for ln in lines if ln.text("status") or "NOT YET SUBMITTED" in ln.text("reason")]
    fragments = [ln for ln in lines if ln not in anchors]
    if not anchors:
        return []
    pieces: dict[int, list[_Line]] = {id(a): [a] for a in anchors}
    for frag in fragments:
        nearest = min(anchors, key=lambda a: (abs(a.top - frag.top), a.top))
        pieces[id(nearest)].append(frag)
    merged = []
    for anchor in anchors:
        parts = sorted(pieces[id(anchor)], key=lambda ln: ln.top)
        out = _Line(top=anchor.top)
        for col in COLUMNS:
            texts = [p.text(col) for p in parts if p.text(col)]
            if texts:
                out.cells[col] = [" ".join(texts)]
        merged.append(out)
    return merged


def _report_time(title: str) -> datetime | None:
    m = _TITLE.search(title)
    if not m:
        return None
    day = m.group(1)
    fmt = "%m/%d/%y" if len(day) == 8 else "%m/%d/%Y"
    return datetime.strptime(f"{day} {m.group(2)} {m.group(3).upper()}", f"{fmt} %I:%M %p")


def parse_injury_pdf(pdf_bytes: bytes, report_time_et: datetime | None = None) -> pl.DataFrame:
    """Injury report PDF -> one row per listed player (teams "NOT YET SUBMITTED" give no rows).

    ``game_date`` is the row's Game Date (ET); ``report_time_et`` is the edition's naive ET time, taken
    from the argument or else from the title ("Injury Report: 01/04/24 12:30 PM"). Team names are
    mapped to tricodes; ``player_id`` stays null (resolved downstream). An empty report is valid.
    """
    source = INJURY_REPORT
    _check_body(pdf_bytes)
    try:
        pdf = pdfplumber.open(io.BytesIO(pdf_bytes))
    except Exception as exc:  # pdfminer raises several unrelated types for corrupt files
        raise SourceDataError(source, "<body>", f"is not a readable PDF ({type(exc).__name__})") from None
    lines: list[_Line] = []
    text_lines: list[_Line] = []  # every text line but the title, a recognised header and the footers
    title = ""
    try:
        with pdf:
            edges: tuple[float, ...] | None = None
            for page in pdf.pages:  # pages are parsed lazily: a corrupt object surfaces here
                page_lines, edges, page_title = _page_lines(page, edges)
                text_lines.extend(page_lines)
                lines.extend(_merge_fragments(page_lines))  # per page: ``top`` restarts on every page
                title = title or page_title
    except Exception as exc:  # pdfminer's errors again (PdfminerException, PSSyntaxError ...)
        raise SourceDataError(source, "<body>", f"is not a readable PDF ({type(exc).__name__})") from None
    if text_lines and not lines:
        first = " ".join(" ".join(words) for words in text_lines[0].cells.values())
        raise SourceDataError(
            source,
            "Current Status",
            f"column not found: {len(text_lines)} text line(s) besides title and footers, none with a status or "
            "'NOT YET SUBMITTED' (the layout changed?); first line",
            first,
        )
    when = report_time_et or _report_time(title)
    if when is None:
        raise SourceDataError(source, "report_time_et", "is neither given nor printed in the report title")

    rows = []
    ctx: dict[str, str] = {}
    for n, line in enumerate(lines):
        path = f"record[{n}]"
        for col in ("date", "time", "matchup"):
            if line.text(col):
                ctx[col] = line.text(col)
                if col != "time":
                    ctx.pop("team", None)
        if line.text("team"):
            ctx["team"] = line.text("team")
        if "NOT YET SUBMITTED" in line.text("reason") and not line.text("player"):
            continue
        status = line.text("status")
        if status not in INJURY_STATUSES:
            raise SourceDataError(source, f"{path}.status", "is not a known injury status", status)
        player = line.text("player")
        if not player:
            raise SourceDataError(source, f"{path}.player", "is missing for a status line", line.cells)
        missing = [c for c in ("date", "time", "matchup", "team") if c not in ctx]
        if missing:
            raise SourceDataError(
                source, f"{path}.{missing[0]}", "is not printed on or above this row", player
            )
        if not _DATE.match(ctx["date"]):
            raise SourceDataError(source, f"{path}.date", "is not MM/DD/YYYY", ctx["date"])
        matchup = ctx["matchup"].replace(" ", "")
        m = _MATCHUP.match(matchup)
        if not m:
            raise SourceDataError(source, f"{path}.matchup", "is not AWY@HOM", ctx["matchup"])
        team = team_code(ctx["team"], source, f"{path}.team")
        if team not in (m.group(1), m.group(2)):
            raise SourceDataError(source, f"{path}.team", f"is not a team of {matchup}", ctx["team"])
        rows.append(
            {
                "game_date": datetime.strptime(ctx["date"], "%m/%d/%Y").date(),
                "report_time_et": when,
                "game_time_et": ctx["time"],
                "matchup": matchup,
                "team_abbr": team,
                "player_name": player,
                "player_id": None,
                "status": status,
                "reason": line.text("reason"),
                "source": source,
            }
        )
    return frame(rows, INJURY_SCHEMA, source)
