"""Export statements and narratives as CSV / JSON Lines / JSON, streamed in keyset chunks.

CSV cells that a spreadsheet would run as a formula (starting with = + - @ tab or CR) get a
leading apostrophe: exported data is hostile input for whoever opens it next.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from tracker.models import Actor, Assignment, Narrative, Statement
from tracker.queries.rows import narrative_summary

STATEMENT_COLUMNS = (
    "statement_id", "external_id", "published_at", "actor", "actor_kind", "outlet", "country", "language",
    "title", "text", "url", "narrative_id", "narrative_label", "narrative_triage", "assignment", "score",
    "off_topic",
)
NARRATIVE_COLUMNS = (
    "narrative_id", "label", "description", "status", "triage", "origin", "size", "keywords", "first_seen_at",
    "last_seen_at", "representative_ids",
)
#: A timeline document's events as CSV rows (``tracker timeline --format csv`` and the page's download).
TIMELINE_COLUMNS = ("statement_id", "external_id", "published_at", "actor", "outlet", "country", "kind",
                    "syndicated_from", "title", "url", "text", "wave", "level")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_RANK = {"confirmed": 0, "assigned": 1, "suggested": 2}


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def statement_rows(session: Session, chunk: int = 5000) -> Iterator[dict[str, Any]]:
    speaker, outlet = aliased(Actor), aliased(Actor)
    last = 0
    while True:
        rows = session.execute(
            select(Statement, speaker.name, speaker.kind, outlet.name)
            .outerjoin(speaker, speaker.id == Statement.speaker_id)
            .outerjoin(outlet, outlet.id == Statement.outlet_id)
            .where(Statement.id > last)
            .order_by(Statement.id)
            .limit(chunk)
        ).all()
        if not rows:
            return
        ids = [r[0].id for r in rows]
        best: dict[int, tuple[int | None, str, float | None, str | None, str | None]] = {}
        for sid, nid, state, score, label, triage in session.execute(
            select(Assignment.statement_id, Assignment.narrative_id, Assignment.state, Assignment.score,
                   Narrative.label, Narrative.triage)
            .join(Narrative, Narrative.id == Assignment.narrative_id)
            .where(Assignment.statement_id.in_(ids), Assignment.state.in_(tuple(_RANK)))
        ):
            key = (_RANK[state], -(score or 0.0))
            held = best.get(sid)
            if held is None or key < (_RANK[held[1]], -(held[2] or 0.0)):
                best[sid] = (nid, state, score, label, triage)
        for st, speaker_name, speaker_kind, outlet_name in rows:
            home, home_state, home_score, home_label, home_triage = best.get(st.id) or (None, "none", None, None, None)
            yield {
                "statement_id": st.id,
                "external_id": st.external_id,
                "published_at": st.published_at.isoformat() if st.published_at else None,
                "actor": speaker_name,
                "actor_kind": speaker_kind,
                "outlet": outlet_name,
                "country": st.country,
                "language": st.language,
                "title": st.title,
                "text": st.text,
                "url": st.url,
                "narrative_id": home,
                "narrative_label": home_label,
                "narrative_triage": home_triage,
                "assignment": home_state,
                "score": None if home_score is None else round(float(home_score), 4),
                "off_topic": st.off_topic,
            }
        last = ids[-1]


def narrative_rows(session: Session) -> Iterator[dict[str, Any]]:
    for n in session.scalars(select(Narrative).order_by(Narrative.id)):
        row = narrative_summary(n)
        yield {"narrative_id": row.pop("id"), **row, "representative_ids": list(n.representative_ids or [])}


def write_csv(rows: Iterator[dict[str, Any]], columns: tuple[str, ...], out: TextIO) -> int:
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    count = 0
    for row in rows:
        flat = {k: ("|".join(map(str, v)) if isinstance(v, list) else v) for k, v in row.items()}
        writer.writerow({k: neutralise(v) for k, v in flat.items()})
        count += 1
    return count


def write_timeline_csv(session: Session, doc: dict[str, Any], out: TextIO) -> int:
    """A timeline document's events, one CSV row each with the statement's title and link (which the
    document leaves out), formulas neutralised."""
    events = doc["events"]
    found: dict[int, tuple[str | None, str | None]] = {}
    ids = [e["statement_id"] for e in events]
    for start in range(0, len(ids), 900):
        found.update((sid, (title, url)) for sid, title, url in session.execute(
            select(Statement.id, Statement.title, Statement.url).where(Statement.id.in_(ids[start : start + 900]))))
    rows = ({**e, "title": found.get(e["statement_id"], (None, None))[0],
             "url": found.get(e["statement_id"], (None, None))[1]} for e in events)
    return write_csv(rows, TIMELINE_COLUMNS, out)


def write_jsonl(rows: Iterator[dict[str, Any]], out: TextIO) -> int:
    count = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_json(rows: Iterator[dict[str, Any]], out: TextIO) -> int:
    items = list(rows)
    json.dump(items, out, ensure_ascii=False, indent=1)
    out.write("\n")
    return len(items)
