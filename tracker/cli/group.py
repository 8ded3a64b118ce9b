"""The `tracker` click group and what its commands share: the workspace opened once per run, JSON
output, and refusals turned into errors a user can act on."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import click

from tracker import __version__
from tracker.config import Config, ConfigError, load_config
from tracker.errors import Refused

if TYPE_CHECKING:
    from tracker.service import Workspace

T = TypeVar("T")


@dataclass
class AppContext:
    """Created once in the group and handed to every command; the workspace opens on first use."""

    config: Config
    _ws: Workspace | None = field(default=None, repr=False)

    @property
    def ws(self) -> Workspace:
        if self._ws is None:
            from tracker.service import Workspace

            try:
                self._ws = Workspace.open(self.config)
            except Exception as exc:  # noqa: BLE001 - any connection/migration failure is a user-facing error
                raise click.ClickException(f"cannot open database {self.config.database_url}: {exc}") from exc
        return self._ws

    def close(self) -> None:
        if self._ws is not None:
            self._ws.close()


pass_app = click.make_pass_decorator(AppContext)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def refusals_as_errors(call: Callable[[], T]) -> T:
    """Run a use case; a refusal becomes a ``click.ClickException`` with its message."""
    try:
        return call()
    except Refused as exc:
        raise click.ClickException(str(exc)) from exc


@contextmanager
def output(path: Any) -> Iterator[Any]:
    """The file to write (opened for text, no newline translation), or stdout."""
    import sys

    if path is None:
        yield sys.stdout
        return
    with path.open("w", encoding="utf-8", newline="") as out:
        yield out


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="TRACKER_CONFIG",
              help="TOML settings file (default: $TRACKER_CONFIG, else built-in defaults).")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(__version__, prog_name="tracker")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: int) -> None:
    """Track which narratives state officials and state media push, and who amplifies them."""
    logging.basicConfig(level=logging.WARNING - 10 * min(verbose, 2),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    app = AppContext(config)
    ctx.obj = app
    ctx.call_on_close(app.close)
