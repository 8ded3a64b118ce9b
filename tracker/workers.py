"""Who is working: worker names (host:pid) and whether such a worker is still alive.

Leases and job runs record their worker's name, so a process killed with ``kill -9`` can be told
apart from one that is merely slow: on the same host, a dead pid frees its work at once.
"""

from __future__ import annotations

import os
import socket


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def is_local(worker: str) -> bool:
    return worker.startswith(f"{socket.gethostname()}:")


def process_alive(pid_text: str) -> bool:
    """Is this local pid a running process? Unknown shapes count as alive (their lease then just expires)."""
    if not pid_text.isdigit():
        return True
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process (PermissionError) or unknown: alive
    try:  # a killed child its parent has not reaped yet is a zombie: dead for our purposes
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def worker_dead(worker: str | None) -> bool:
    """True only for a worker of this host whose process is gone."""
    if not worker or not is_local(worker):
        return False
    return not process_alive(worker.split(":", 2)[1])
