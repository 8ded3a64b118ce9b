"""Where a model's index lives, its manifest, and publishing a new version atomically.

Crash safety: new vectors are written to a new segment file (a fresh name), flushed to disk, then the
manifest naming every current segment is written beside them and renamed over the old manifest. A reader follows the
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
class Segment:
    """One index file: the vectors with embedding ids in (the previous segment's ``last_id``, ``last_id``]."""

    file: str
    count: int
    last_id: int


@dataclass(frozen=True)
class Manifest:
    """What one published version covers: every vector of ``model`` with an embedding id up to
    ``max_embedding_id``, in segments (the first one large, later ones the vectors of later runs);
    ``last_text_hash`` (the text of the last embedding id) tells this database from another."""

    model: str
    segments: tuple[Segment, ...]
    ndim: int
    last_text_hash: str
    library: str
    built_at: str
    generation: int
    format: int = MANIFEST_FORMAT

    @property
    def count(self) -> int:
        return sum(s.count for s in self.segments)

    @property
    def max_embedding_id(self) -> int:
        return self.segments[-1].last_id if self.segments else 0


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
        found = Manifest(**{**raw, "segments": tuple(Segment(**s) for s in raw["segments"])})
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if (found.format != MANIFEST_FORMAT or found.model != model or not found.segments
            or not all((folder / s.file).is_file() for s in found.segments)):
        return None
    return found


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def new_index_file(folder: Path, model: str, generation: int, part: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{model_slug(model)}.{generation}-{part}.usearch"


def publish(folder: Path, manifest: Manifest) -> None:
    """Make ``manifest`` (whose files are written) the current version, then drop the model's other files."""
    for segment in manifest.segments:
        with (folder / segment.file).open("rb+") as fh:
            os.fsync(fh.fileno())
    target = manifest_path(folder, manifest.model)
    tmp = target.with_name(target.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(asdict(manifest), fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    _fsync_dir(folder)
    keep = {s.file for s in manifest.segments}
    for old in folder.glob(f"{model_slug(manifest.model)}.*.usearch"):
        if old.name not in keep:
            old.unlink(missing_ok=True)
