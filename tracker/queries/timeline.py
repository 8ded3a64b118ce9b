"""A narrative's timeline document from the database: its statements as ``TimelineEvent``s, fed to the
(pure) analysis in ``tracker.analysis.timeline``.

"Now" for burst flags is the newest statement in the database (never later than the clock): an
archive of 2020-2022 statements is judged as of its last day, a live feed as of today.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from tracker.analysis.timeline import TimelineEvent, WaveOptions, build_timeline
from tracker.config import Config, TimelineConfig
from tracker.models import Actor, Assignment, Narrative, Statement
from tracker.queries.rows import narrative_summary
from tracker.vocabulary import CURRENT_STATES


def narrative_events(session: Session, narrative_id: int) -> list[TimelineEvent]:
    speaker, outlet = aliased(Actor), aliased(Actor)
    # Any: the outer joins leave speaker and outlet columns None, which the column types do not say.
    rows: Sequence[Any] = session.execute(
        select(Statement.id, Statement.external_id, Statement.published_at, Statement.country, Statement.text,
               speaker.id, speaker.name, speaker.kind, speaker.country, outlet.id, outlet.name, outlet.kind,
               outlet.country, Assignment.score, Assignment.state)
        .join(Assignment, Assignment.statement_id == Statement.id)
        .outerjoin(speaker, speaker.id == Statement.speaker_id)
        .outerjoin(outlet, outlet.id == Statement.outlet_id)
        .where(Assignment.narrative_id == narrative_id, Assignment.state.in_(CURRENT_STATES))
    ).all()
    events = []
    for (sid, ext, published, country, text, sp_id, sp_name, sp_kind, sp_country, ou_id, ou_name, ou_kind,
         ou_country, score, state) in rows:
        kind = sp_kind if sp_id is not None else ou_kind
        events.append(TimelineEvent(
            statement_id=sid, external_id=ext, published_at=published,
            actor=sp_name, actor_id=sp_id if sp_id is not None else ou_id, outlet=ou_name,
            country=country or sp_country or ou_country,
            kind=None if kind in (None, "other") and sp_id is None and ou_id is None else kind,
            text=text,
            # A researcher's confirmation is trusted; otherwise the stored score is the level.
            level=None if state == "confirmed" or score is None else float(score),
        ))
    return events


def data_now(session: Session) -> datetime:
    newest = session.scalar(select(func.max(Statement.published_at)))
    clock = datetime.now(UTC)
    return min(newest, clock) if newest is not None else clock


def narrative_timeline(session: Session, narrative_id: int, cfg: Config, *, now: datetime | None = None
                       ) -> dict[str, Any] | None:
    """The timeline document of one narrative (see ``build_timeline``), or None when it does not exist."""
    narrative = session.get(Narrative, narrative_id)
    if narrative is None:
        return None
    t = cfg.timeline
    return build_timeline(
        narrative_summary(narrative),
        narrative_events(session, narrative_id),
        window=timedelta(days=t.window_days),
        bucket=t.bucket,
        now=now or data_now(session),
        burst_options={"dormant_days": t.dormant_days, "emerging_days": t.recent_days},
        waves=wave_options(t),
    )


def wave_options(t: TimelineConfig) -> WaveOptions:
    """The ``[timeline]`` settings of waves and first movers, for ``build_timeline``."""
    return WaveOptions(gap=timedelta(days=t.wave_gap_days), onset_quiet=timedelta(days=t.wave_onset_quiet_days),
                       min_statements=t.min_wave, first_mover_level=t.first_mover_level)
