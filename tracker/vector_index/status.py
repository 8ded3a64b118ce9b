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
    manifest = current(session, folder, model) if cfg.search.engine != "exact" else None
    out: dict[str, Any] = {"engine_setting": cfg.search.engine, "vectors": count, "index_dir": str(folder)}
    if manifest is not None:
        out.update(in_use="usearch index", segments=len(manifest.segments), indexed=manifest.count,
                   not_indexed=max(0, count - manifest.count), library=manifest.library, built_at=manifest.built_at)
    elif wanted(cfg, count):
        out.update(in_use="exact (no usable index yet: run `tracker index`)")
    else:
        out.update(in_use="exact")
    return out
