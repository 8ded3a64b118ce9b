"""Commands for the web face: serve the dashboard and API, and manage the accounts that use it."""

from __future__ import annotations

import sys

import click

from tracker.cli.group import AppContext, main, pass_app, refusals_as_errors
from tracker.vocabulary import ROLES

SERVE_SWITCH_INTERVAL = 0.001  # seconds


@main.command()
@click.option("--host", default=None, help="Address to listen on (default: web.host).")
@click.option("--port", default=None, type=int, help="Port (default: web.port).")
@pass_app
def serve(app: AppContext, host: str | None, port: int | None) -> None:
    """Serve the dashboard and JSON API with a production WSGI server (waitress)."""
    from waitress import serve as waitress_serve

    from tracker.config import mask_url

    # Waitress threads share one GIL, and every socket or SQLite call hands it over; with the
    # default 5 ms switch interval a thread coming back from one waits up to 5 ms to run again.
    # 1 ms: p95 at 50 clients on 1M statements 193 -> 82 ms (narrative page), 214 -> 76 ms
    # (its chart data), bench/README.md.
    sys.setswitchinterval(SERVE_SWITCH_INTERVAL)

    from tracker.web import create_app

    cfg = app.config
    web = create_app(cfg, db=app.ws.db)
    host, port = host or cfg.web.host, port or cfg.web.port
    click.echo(f"serving http://{host}:{port} (database {mask_url(cfg.database_url)})")
    waitress_serve(web, host=host, port=port, threads=cfg.web.threads, ident="narrative-tracker")


@main.group()
def users() -> None:
    """Accounts for the dashboard and API: viewers read, researchers tag and edit, admins manage."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the user may do.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@pass_app
def users_add(app: AppContext, name: str, role: str, password_stdin: bool) -> None:
    """Add a user; the password is prompted for (or read with --password-stdin)."""
    from tracker.service import accounts

    password = _password(app, password_stdin)
    refusals_as_errors(lambda: accounts.add_user(app.ws, None, name, role, password))
    click.echo(f"added {role} {name}")


def _password(app: AppContext, password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    minimum = app.config.auth.min_password_length
    return str(click.prompt(f"password (at least {minimum} characters)", hide_input=True, confirmation_prompt=True))


@users.command("token")
@click.argument("name")
@click.option("--label", help="What the token is for, e.g. 'nightly export'.")
@click.option("--expires", "expires_days", type=click.IntRange(1, 3650), metavar="DAYS",
              help="Stop working after this many days (default: until revoked).")
@pass_app
def users_token(app: AppContext, name: str, label: str | None, expires_days: int | None) -> None:
    """Print a new API token for NAME (shown once; send it as 'Authorization: Bearer <token>')."""
    from tracker.errors import Refused
    from tracker.service import accounts

    try:
        token = accounts.issue_token(app.ws, None, name, label=label, expires_days=expires_days)
    except Refused as exc:
        raise click.ClickException(f"{exc}; add one with `tracker users add`" if exc.kind == "not_found"
                                   else str(exc)) from exc
    click.echo(token)


@users.command("tokens")
@click.argument("name", required=False)
@pass_app
def users_tokens(app: AppContext, name: str | None) -> None:
    """List API tokens (of NAME): id, owner, state, label, created, last used and expiry; never the secret."""
    from tracker.service import accounts

    with app.ws.reader() as session:
        users = {u["name"]: u["id"] for u in accounts.list_users(session)}
        if name is not None and name not in users:
            raise click.ClickException(f"no user called {name!r}")
        rows = accounts.list_tokens(session, user_id=users[name] if name else None)

    def day(value: str | None) -> str:
        return value[:16].replace("T", " ") if value else "-"

    for t in rows:
        click.echo(f"{t['id']:>4} {t['user']:<16} {t['state']:<8} created {day(t['created_at'])}  "
                   f"used {day(t['last_used_at'])}  expires {day(t['expires_at'])}  {t['label'] or ''}")


@users.command("revoke-token")
@click.argument("token_id", type=int)
@pass_app
def users_revoke_token(app: AppContext, token_id: int) -> None:
    """Revoke the API token with this id (see `tracker users tokens`); it stops working at once."""
    from tracker.service import accounts

    revoked = refusals_as_errors(lambda: accounts.revoke_token(app.ws, None, token_id))
    click.echo(f"revoked token {revoked['id']} of {revoked['user']}")


@users.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from the first line of stdin.")
@pass_app
def users_password(app: AppContext, name: str, password_stdin: bool) -> None:
    """Set NAME's password; their web sessions end and their API tokens are revoked."""
    from tracker.service import accounts

    password = _password(app, password_stdin)
    refusals_as_errors(lambda: accounts.set_password(app.ws, None, name, password))
    click.echo(f"password of {name} changed; their sessions and API tokens are revoked")


@users.command("list")
@pass_app
def users_list(app: AppContext) -> None:
    """List users with their role."""
    from tracker.service import accounts

    with app.ws.reader() as session:
        for u in accounts.list_users(session):
            click.echo(f"{u['id']:>4} {u['role']:<10} {'disabled' if u['disabled'] else 'active':<8} {u['name']}")
