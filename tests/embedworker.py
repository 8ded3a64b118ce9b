"""One embedding worker as its own process, for the tests that kill workers: ``python -m tests.embedworker
DB_URL LOG CHUNK DELAY``.

It runs the job ``tracker embed`` runs (``jobs.embed``) with the hashing embedder, slowed by DELAY seconds
per chunk so a test can kill it mid-chunk, and appends to LOG what it does, one line each:
``claim <hash,hash,...>`` when a chunk reaches the model, ``stored <n>`` once the chunk is committed.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence

import numpy as np

from tracker import embed, jobs
from tracker.config import load_config
from tracker.db import Database
from tracker.embed import HashingEmbedder
from tracker.ingest.store import text_hash


class SlowLoggingEmbedder(HashingEmbedder):
    def __init__(self, log: str, delay: float) -> None:
        super().__init__()
        self.log, self.delay = log, delay

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        _append(self.log, "claim " + ",".join(text_hash(t) for t in texts))
        time.sleep(self.delay)
        return super().embed(texts)


def _append(path: str, line: str) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def main(argv: list[str]) -> int:
    url, log, chunk, delay = argv[0], argv[1], argv[2], float(argv[3])
    cfg = load_config(env={"TRACKER_DATABASE_URL": url, "TRACKER_EMBEDDING_CHUNK_SIZE": chunk,
                           "TRACKER_EMBEDDING_MODEL": "hashing-ngrams-384"})
    db = Database(url)
    embed.SQLITE_WALK = 1  # SQLite walks in chunk_size steps here, so a test can kill it mid-chunk
    jobs.embed(db, cfg, SlowLoggingEmbedder(log, delay), progress=lambda n: _append(log, f"stored {n}"))
    db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
