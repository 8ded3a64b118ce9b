"""What serves "similar statements" and search by meaning for a model, in words for `tracker info` / `init`."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tracker.config import Config
from tracker.vector_index.files import index_dir
from tracker.vector_index.update import current, stored_count, wanted


def search_status(session: Session, cfg: Config, model: str) -> dict[str, Any]:
    """The engine in use, the index (when one is published) and how far behind the stored vectors it is."""
    folder = index_dir(cfg)
    count = stored_count(session, model)
    on_server: dict[str, Any] = {}
    if session.get_bind().dialect.name == "postgresql":
        found = _pgvector_status(session, cfg, model, count)
        if "in_use" in found:
            return found
        on_server = {"pgvector": found["pgvector"]}
    manifest = current(session, folder, model) if cfg.search.engine != "exact" else None
    out: dict[str, Any] = {"engine_setting": cfg.search.engine, "vectors": count, "index_dir": str(folder),
                           **on_server}
    if manifest is not None:
        out.update(in_use="usearch index", segments=len(manifest.segments), indexed=manifest.count,
                   not_indexed=max(0, count - manifest.count), library=manifest.library, built_at=manifest.built_at)
    elif wanted(cfg, count):
        out.update(in_use="exact (no usable index yet: run `tracker index`)")
    else:
        out.update(in_use="exact")
    return out


def _pgvector_status(session: Session, cfg: Config, model: str, count: int) -> dict[str, Any]:
    """PostgreSQL: whether pgvector is offered / installed, and (with ``in_use``) its table's state when it
    serves the searches; without ``in_use`` the file index applies."""
    from tracker.vector_index import pgvector

    ext = pgvector.extension_state(session)
    out: dict[str, Any] = {"engine_setting": cfg.search.engine, "vectors": count,
                           "pgvector": f"installed {ext['installed']}" if ext["installed"]
                           else ("available, not installed yet" if ext["available"] else "not on this server")}
    if cfg.search.engine not in ("auto", "pgvector") or not ext["available"]:
        return out if cfg.search.engine != "pgvector" else {**out, "in_use": "exact (pgvector is not on this server)"}
    if ext["installed"] and pgvector.table_exists(session, model):
        rows, _, _ = pgvector.covered(session, model)
        return {**out, "in_use": "pgvector HNSW (halfvec, cosine)", "index_table": pgvector.table_name(model),
                "indexed": rows, "not_indexed": max(0, count - rows)}
    return {**out, "in_use": "exact (pgvector index not built yet: run `tracker index`)" if wanted(cfg, count)
            else "exact"}
