"""The `tracker` click group and what its commands share: the app context made once per run, JSON
output and masked database URLs."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from tracker import __version__
from tracker.config import Config, ConfigError, load_config

if TYPE_CHECKING:
    from tracker.db import Database


@dataclass
class AppContext:
    """Created once in the group and handed to every command."""

    config: Config
    _db: Any = field(default=None, repr=False)

    @property
    def db(self) -> Database:
        if self._db is None:
            from tracker.db import Database, ensure_schema

            self._db = Database(self.config.database_url, busy_timeout_ms=self.config.database.busy_timeout_ms,
                                echo=self.config.database.echo)
            try:
                ensure_schema(self._db)
            except Exception as exc:  # noqa: BLE001 - any connection/migration failure is a user-facing error
                raise click.ClickException(f"cannot open database {self.config.database_url}: {exc}") from exc
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()


pass_app = click.make_pass_decorator(AppContext)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _masked(url: str) -> str:
    from tracker.config import mask_url

    return mask_url(url)


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
