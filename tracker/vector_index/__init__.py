"""An approximate nearest-neighbour index of statement vectors, kept on disk beside the database.

Why: exact search holds every vector in every web process (2 GB of float32 at 1M 512-d statements,
per process). The index is one usearch HNSW file per model, memory-mapped read-only by every process
of the machine (the page cache holds it once), extended by the process that embeds. Its keys are
embedding ids (one per distinct text), resolved to statements through the database at query time,
and its candidates are re-scored with the stored vectors, so a stale or foreign index can only cost
recall, never return a wrong statement or a wrong score (see ``reader.py``).
"""
