"""Read models shared by the dashboard, the JSON API and the CLI: plain dicts, keyset pagination.

Nothing here writes; every function takes a session and returns JSON-ready data. One module per
subject; callers import from the package (``from tracker import queries``).
"""

from tracker.queries.actors import actor_dates, actor_detail, actor_summary, actor_view, list_actors
from tracker.queries.audit import audit_view, list_audit
from tracker.queries.filters import StatementFilter, filter_choices
from tracker.queries.narratives import (
    list_narratives,
    narrative_dates,
    narrative_detail,
    narrative_labels,
    narrative_statements,
)
from tracker.queries.rows import iso, narrative_summary, statement_dict
from tracker.queries.similar import embedding_models
from tracker.queries.statements import STATEMENT_STATES, list_statements, statement_detail, statements_by_ids
from tracker.queries.timeline import data_now, narrative_timeline
from tracker.queries.versions import data_version

__all__ = [
    "STATEMENT_STATES",
    "StatementFilter",
    "actor_dates",
    "actor_detail",
    "actor_summary",
    "actor_view",
    "audit_view",
    "data_now",
    "data_version",
    "embedding_models",
    "filter_choices",
    "iso",
    "list_actors",
    "list_audit",
    "list_narratives",
    "list_statements",
    "narrative_dates",
    "narrative_detail",
    "narrative_labels",
    "narrative_statements",
    "narrative_summary",
    "narrative_timeline",
    "statement_detail",
    "statement_dict",
    "statements_by_ids",
]
