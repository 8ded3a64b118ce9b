"""The `tracker` command: thin click commands over the library.

Each command parses its arguments, calls one library function and prints. Heavy modules (the
database layer, numpy, the embedding model) are imported inside commands, so `tracker --help`
starts instantly. The group lives in `group.py`, the commands in one module per family; importing
a family registers its commands on `main`.
"""

from tracker.cli import actors, database, files, narratives, pipeline, sources, web  # noqa: F401
from tracker.cli.group import AppContext, echo_json, main, pass_app
from tracker.cli.web import SERVE_SWITCH_INTERVAL

__all__ = ["SERVE_SWITCH_INTERVAL", "AppContext", "echo_json", "main", "pass_app"]
