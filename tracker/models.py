"""SQLAlchemy 2.0 typed models: the tables every stage reads and writes.

No behaviour beyond small properties. Constraints live here, named by the naming convention so
Alembic's batch mode on SQLite can find them, and are mirrored by the migrations.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from tracker.vocabulary import (
    ACTOR_KINDS,
    ASSIGNMENT_METHODS,
    ASSIGNMENT_STATES,
    CURRENT_STATES,
    NARRATIVE_ORIGINS,
    NARRATIVE_STATUSES,
    ROLES,
    SOURCE_KINDS,
    TRIAGE_STATES,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}



def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}
    if TYPE_CHECKING:
        # Every model here is a plain table, so its ``__table__`` is a ``Table`` (SQLAlchemy types it as
        # any ``FromClause``); the bulk paths run Core ``insert``/``update`` on it.
        __table__: ClassVar[Table]


class Actor(Base):
    """A speaker (person, ministry) or an outlet; aliases map other spellings onto it."""

    __tablename__ = "actors"
    __table_args__ = (CheckConstraint(_in("kind", ACTOR_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="other")
    country: Mapped[str | None] = mapped_column(String(8))
    affiliation: Mapped[str | None] = mapped_column(String(300))
    is_outlet: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    aliases: Mapped[list[ActorAlias]] = relationship(back_populates="actor", cascade="all, delete-orphan")


class ActorAlias(Base):
    """Another spelling of an actor; ``key`` is the normalised form used for lookups."""

    __tablename__ = "actor_aliases"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    alias: Mapped[str] = mapped_column(String(300))
    key: Mapped[str] = mapped_column(String(300), unique=True)
    origin: Mapped[str] = mapped_column(String(20), default="manual")  # manual, rule, suggestion
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    actor: Mapped[Actor] = relationship(back_populates="aliases")


class Source(Base):
    """Where statements come from, with its schedule and HTTP validators."""

    __tablename__ = "sources"
    __table_args__ = (CheckConstraint(_in("kind", SOURCE_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="SET NULL"))
    outlet_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="SET NULL"))
    country: Mapped[str | None] = mapped_column(String(8))
    every_seconds: Mapped[int] = mapped_column(Integer, default=3600)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    fetch_full_text: Mapped[bool] = mapped_column(Boolean, default=False)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    next_due_at: Mapped[datetime | None] = mapped_column(index=True)
    last_fetched_at: Mapped[datetime | None] = mapped_column()
    last_status: Mapped[str | None] = mapped_column(String(40))
    last_error: Mapped[str | None] = mapped_column(Text)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    locked_by: Mapped[str | None] = mapped_column(String(200))
    locked_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Statement(Base):
    """One thing said or published. ``external_key`` makes re-ingestion idempotent.

    ``external_key`` is the publisher's id scoped by outlet when there is one, else the content hash
    scoped by outlet: the same text from two outlets stays two statements (amplification).
    """

    __tablename__ = "statements"
    __table_args__ = (
        Index("ix_statements_outlet_content", "outlet_id", "content_hash"),
        Index("ix_statements_published", "published_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_key: Mapped[str] = mapped_column(String(600), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(64), index=True)  # exact text, for embeddings
    content_hash: Mapped[str] = mapped_column(String(64))  # normalised text, for dedup
    title: Mapped[str | None] = mapped_column(Text)
    context: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(12))
    published_at: Mapped[datetime | None] = mapped_column()
    url: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(8))
    speaker_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="SET NULL"), index=True)
    outlet_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="SET NULL"), index=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"), index=True)
    origin: Mapped[str | None] = mapped_column(Text)  # file:line or URL it was read from
    provenance: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # A researcher said it is about no narrative: out of the tagging queue, discovery and assignment.
    off_topic: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    speaker: Mapped[Actor | None] = relationship(foreign_keys=[speaker_id])
    outlet: Mapped[Actor | None] = relationship(foreign_keys=[outlet_id])
    source: Mapped[Source | None] = relationship()


class Embedding(Base):
    """A vector per (exact text hash, model): two statements with one text share it."""

    __tablename__ = "embeddings"
    __table_args__ = (UniqueConstraint("text_hash", "model"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(300))
    dim: Mapped[int] = mapped_column(Integer)
    dtype: Mapped[str] = mapped_column(String(10))
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EmbeddingBacklog(Base):
    """A distinct text still waiting for its vector in ``model``: the row a PostgreSQL worker locks
    (``FOR UPDATE SKIP LOCKED``) while it embeds the text, so no two workers embed it (tracker.backlog)."""

    __tablename__ = "embedding_backlog"

    model: Mapped[str] = mapped_column(String(300), primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(64), primary_key=True)


class Narrative(Base):
    """A narrative with an id that survives re-clustering; ``locked`` ones are never dissolved silently."""

    __tablename__ = "narratives"
    __table_args__ = (
        CheckConstraint(_in("status", NARRATIVE_STATUSES), name="status"),
        CheckConstraint(_in("origin", NARRATIVE_ORIGINS), name="origin"),
        CheckConstraint(_in("triage", TRIAGE_STATES), name="triage"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    keywords: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    origin: Mapped[str] = mapped_column(String(20), default="discovered")
    locked: Mapped[bool] = mapped_column(Boolean, default=False)  # confirmed or edited by a researcher
    label_edited: Mapped[bool] = mapped_column(Boolean, default=False)
    triage: Mapped[str] = mapped_column(String(20), default="candidate", server_default="candidate", index=True)
    # The statement an automatic label was taken from: the label changes only when it stops representing.
    label_source_id: Mapped[int | None] = mapped_column(ForeignKey("statements.id", ondelete="SET NULL"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("narratives.id", ondelete="SET NULL"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("narratives.id", ondelete="SET NULL"))
    centroid: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Length of the mean of its statements' vectors: cohesion x cosine to the centroid is a statement's
    # mean similarity to the narrative's statements, the quantity every level is measured on.
    cohesion: Mapped[float | None] = mapped_column(Float)
    model: Mapped[str | None] = mapped_column(String(300))
    size: Mapped[int] = mapped_column(Integer, default=0)
    representative_ids: Mapped[list[Any]] = mapped_column(default=list)
    examples: Mapped[list[Any]] = mapped_column(default=list)  # a seeded narrative's example statements
    first_seen_at: Mapped[datetime | None] = mapped_column()
    last_seen_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SimilarityScale(Base):
    """A model's background similarity on this corpus and its language offsets (narratives.calibration).

    Written by every full discovery; incremental assignment and pool discovery read it, so their
    levels mean what discovery's meant."""

    __tablename__ = "similarity_scales"

    model: Mapped[str] = mapped_column(String(300), primary_key=True)
    mean: Mapped[float] = mapped_column(Float)
    sd: Mapped[float] = mapped_column(Float)
    languages: Mapped[list[Any]] = mapped_column(default=list)  # row order of ``offsets``
    offsets: Mapped[bytes | None] = mapped_column(LargeBinary)  # float32, one row per language
    statements: Mapped[int] = mapped_column(Integer, default=0)  # how many it was measured on
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Assignment(Base):
    """A statement's relation to a narrative: assigned, suggested, confirmed or rejected.

    At most one current (assigned or confirmed) assignment per statement, enforced by a partial
    unique index; rejected rows stay so assignment never brings the statement back automatically.
    """

    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("statement_id", "narrative_id"),
        CheckConstraint(_in("state", ASSIGNMENT_STATES), name="state"),
        CheckConstraint(_in("method", ASSIGNMENT_METHODS), name="method"),
        Index(
            "uq_assignments_current",
            "statement_id",
            unique=True,
            sqlite_where=text(_in("state", CURRENT_STATES)),
            postgresql_where=text(_in("state", CURRENT_STATES)),
        ),
        Index("ix_assignments_narrative_state", "narrative_id", "state"),
        Index("ix_assignments_state_score", "state", "score"),
        # Answers "has this statement an open assignment?" from the index alone (migration 0002).
        Index("ix_assignments_statement_state", "statement_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id", ondelete="CASCADE"))
    narrative_id: Mapped[int] = mapped_column(ForeignKey("narratives.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(20))
    method: Mapped[str] = mapped_column(String(20))
    score: Mapped[float | None] = mapped_column(Float)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    narrative: Mapped[Narrative] = relationship()
    statement: Mapped[Statement] = relationship()


class NarrativeEvent(Base):
    """History: created, seeded, renamed, merged, split, retired, revived, status changes."""

    __tablename__ = "narrative_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    narrative_id: Mapped[int] = mapped_column(ForeignKey("narratives.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    other_narrative_id: Mapped[int | None] = mapped_column(ForeignKey("narratives.id", ondelete="SET NULL"))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    job_run_id: Mapped[int | None] = mapped_column(ForeignKey("job_runs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    """Someone who signs in to the dashboard or calls the API; ``role`` says what they may do."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)  # what they sign in with
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A per-user token for scripts; only its hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None] = mapped_column()  # None: until revoked


class WebSession(Base):
    """Server-side web sessions, so logout really ends one."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class LoginAttempt(Base):
    """Failed logins, per account and per address, for throttling."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)  # "user:<name>", "ip:<address>" or "pair:<both>"
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class AuditEvent(Base):
    """Who changed what, old -> new; written in the same transaction as the change."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    actor_name: Mapped[str | None] = mapped_column(String(100))  # who, kept if the user is deleted
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(60))
    old: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    new: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class SourceFetch(Base):
    """One fetch of one source, whatever came of it: the source's fetch log (the newest few hundred kept)."""

    __tablename__ = "source_fetches"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(20))  # ok, not_modified, failed
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    row_errors: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_source_fetches_source_id_at", "source_id", "at"),)


class JobRun(Base):
    """One run of a pipeline job: when, how it ended, what it counted, what went wrong."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running, ok, partial, failed
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column()
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    errors: Mapped[list[Any]] = mapped_column(default=list)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))
    worker: Mapped[str | None] = mapped_column(String(200))
