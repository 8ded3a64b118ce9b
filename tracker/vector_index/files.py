"""Where a model's index lives, its manifest, and publishing a new version atomically.

Crash safety: a new index is written to a new file (a fresh generation name), flushed to disk, then the
manifest naming it is written beside it and renamed over the old manifest. A reader follows the
manifest, so it sees the old index or the new one, never half a file; a crash before the rename leaves
the old version current and an orphan file the next publish removes. Old files are unlinked after the
rename: a process that still maps one keeps reading it until it follows the new manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from tracker.config import Config

MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class Manifest:
    """What one published index covers: every vector of ``model`` with an embedding id up to
    ``max_embedding_id``; ``last_text_hash`` (that embedding's text) tells this database from another."""

    model: str
    file: str
    ndim: int
    count: int
    max_embedding_id: int
    last_text_hash: str
    library: str
    built_at: str
    generation: int
    format: int = MANIFEST_FORMAT


def index_dir(cfg: Config) -> Path:
    """The folder of this database's index files: ``search.dir``, else beside the SQLite file, else
    ``<data.dir>/vectors/<server and database>`` (one machine's own copy for PostgreSQL)."""
    if cfg.search.dir:
        return Path(cfg.search.dir)
    url = make_url(cfg.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(f"{url.database}.vectors")
    where = f"{url.host or 'local'}_{url.port or ''}_{url.database or ''}"
    return cfg.data_dir / "vectors" / re.sub(r"[^A-Za-z0-9_.-]", "_", where)


def model_slug(model: str) -> str:
    """A file-name-safe, collision-free name for a model (names may be paths)."""
    readable = re.sub(r"[^A-Za-z0-9_.-]", "_", model)[-60:]
    return f"{readable}-{hashlib.blake2b(model.encode(), digest_size=4).hexdigest()}"


def manifest_path(folder: Path, model: str) -> Path:
    return folder / f"{model_slug(model)}.json"


def lock_path(folder: Path, model: str) -> Path:
    return folder / f"{model_slug(model)}.lock"


def read_manifest(folder: Path, model: str) -> Manifest | None:
    """The published manifest, or None when there is none or it cannot be read (then: exact search)."""
    try:
        raw: dict[str, Any] = json.loads(manifest_path(folder, model).read_text(encoding="utf-8"))
        found = Manifest(**raw)
    except (OSError, ValueError, TypeError):
        return None
    if found.format != MANIFEST_FORMAT or found.model != model or not (folder / found.file).is_file():
        return None
    return found


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def new_index_file(folder: Path, model: str, generation: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{model_slug(model)}.{generation}.usearch"


def publish(folder: Path, manifest: Manifest) -> None:
    """Make ``manifest`` (whose file is written) the current version, then drop older files of the model."""
    written = folder / manifest.file
    with written.open("rb+") as fh:
        os.fsync(fh.fileno())
    target = manifest_path(folder, manifest.model)
    tmp = target.with_name(target.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(asdict(manifest), fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    _fsync_dir(folder)
    for old in folder.glob(f"{model_slug(manifest.model)}.*.usearch"):
        if old.name != manifest.file:
            old.unlink(missing_ok=True)
