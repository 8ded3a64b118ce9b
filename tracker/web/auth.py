"""Who may do what: login/logout, API tokens, roles, CSRF, and the deny-by-default gate.

Every endpoint declares its access level with :func:`access` (or, for views this module does not
own, in :data:`ENDPOINT_ACCESS`); an endpoint with no declaration answers 403 to everyone, so a
forgotten decorator fails closed. Levels: ``public`` (anyone), ``read`` (any user, or anonymous
visitors when ``auth.public_read`` is on), ``viewer`` < ``researcher`` < ``admin``.

Pages authenticate with a server-side session (a random id in the signed cookie, its hash in
``web_sessions``); the JSON API with ``Authorization: Bearer <token>``. A session cookie may read
the API (the dashboard's own fetches) but never write through it: API writes need a token, which
is what makes the API immune to CSRF.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFProtect
from itsdangerous import BadData, URLSafeTimedSerializer

from tracker.service import accounts
from tracker.vocabulary import ROLES
from tracker.web.context import read_session, state, workspace
from tracker.web.errors import ApiError, wants_json

if TYPE_CHECKING:
    from tracker.models import User

log = logging.getLogger(__name__)

LEVELS = ("public", "read", *ROLES)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Access of endpoints whose view functions live in modules that do not use :func:`access`.
ENDPOINT_ACCESS: dict[str, str] = {
    "static": "public",
    "pages.overview": "read",
    "pages.narrative": "read",
}

F = TypeVar("F", bound=Callable[..., Any])
ACCESS_ATTRIBUTE = "_tracker_access"  # where ``access`` writes a view's level
bp = Blueprint("auth", __name__)
csrf = CSRFProtect()


def access(level: str) -> Callable[[F], F]:
    """Declare who may call a view; put it below the route decorator."""
    if level not in LEVELS:
        raise ValueError(f"access level must be one of {', '.join(LEVELS)}, got {level!r}")

    def mark(view: F) -> F:
        setattr(view, ACCESS_ATTRIBUTE, level)
        return view

    return mark


def endpoint_access(app: Flask, endpoint: str) -> str | None:
    view = app.view_functions.get(endpoint)
    level = getattr(view, ACCESS_ATTRIBUTE, None)
    return level if isinstance(level, str) else ENDPOINT_ACCESS.get(endpoint)


def current_user() -> User | None:
    user: User | None = g.get("user")
    return user


def _identify() -> None:
    """Set ``g.user`` and ``g.via`` ("token", "session" or None) from the request's credentials."""
    g.user, g.via = None, None
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        user = accounts.token_user(workspace(), read_session(), token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise ApiError(401, "invalid, revoked or expired API token", headers={"WWW-Authenticate": 'Bearer realm="api"'})
        g.user, g.via = user, "token"
        return
    sid = session.get("sid")
    if isinstance(sid, str):
        user = accounts.user_for_session(read_session(), sid)
        if user is not None:
            g.user, g.via = user, "session"
        else:
            session.pop("sid", None)


def _deny_anonymous() -> Any:
    if wants_json():
        message = ("API writes need an API token (Authorization: Bearer ...)" if g.via == "session"
                   else "log in or send an API token (Authorization: Bearer ...)")
        raise ApiError(401, message, headers={"WWW-Authenticate": 'Bearer realm="api"'})
    if request.method in SAFE_METHODS:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    abort(401)


def _gate() -> Any:
    """The before_request hook: identify the caller, then let the request through or stop it."""
    endpoint = request.endpoint if request.routing_exception is None else None
    try:
        _identify()
    except ApiError:
        if wants_json() and endpoint is not None:
            raise
        g.user, g.via = None, None  # a page request with a bad header: ignore the header
    if endpoint is None:
        return None  # 404 / 405 follow, on a page that knows who is asking
    level = endpoint_access(current_app, endpoint)
    if level is None:
        log.warning("endpoint %s declares no access level: denied", request.endpoint)
        if wants_json():
            raise ApiError(403, "this endpoint is not open to anyone")
        abort(403)
    if level == "public":
        return None
    user: User | None = g.user
    if wants_json() and request.method not in SAFE_METHODS and g.via == "session":
        user = None  # cookies never authorise API writes
    if level == "read":
        if user is not None or state().config.auth.public_read:
            return None
        return _deny_anonymous()
    if user is None:
        return _deny_anonymous()
    if accounts.role_rank(user.role) < accounts.role_rank(level):
        if wants_json():
            raise ApiError(403, f"this needs the {level} role; you are {user.role}")
        abort(403)
    return None


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths: never an open redirect."""
    if not target:
        return url_for("pages.overview")
    if len(target) > 2000 or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return url_for("pages.overview")  # a CR/LF would split the Location header
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("pages.overview")
    return target


@bp.route("/login", methods=["GET", "POST"])
@access("public")
def login() -> Any:
    next_url = request.values.get("next")
    if request.method == "GET":
        return render_template("login.html", next=next_url, error=None, name="")
    name = (request.form.get("name") or "").strip()[:100]
    password = request.form.get("password") or ""
    target = _safe_next(next_url)  # before signing in: nothing after the session row may fail
    outcome = accounts.sign_in(workspace(), name, password, request.remote_addr,
                               known_device=_known_device() == accounts.device_name(name))
    if outcome.throttled:
        message = f"Too many failed logins. Try again in {state().config.auth.lockout_minutes} minutes."
        return render_template("login.html", next=next_url, error=message, name=name), 429
    if outcome.session_id is None:
        return render_template("login.html", next=next_url, error="Wrong name or password.", name=name), 401
    session.clear()  # a new session (and CSRF token) on every login
    session["sid"] = outcome.session_id
    session.permanent = True
    response = redirect(target)
    _remember_device(response, accounts.device_name(name))
    return response


DEVICE_COOKIE = "tracker_device"
DEVICE_DAYS = 180


def _device_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt="known-device")


def _known_device() -> str | None:
    """The account this browser signed in to before, by its signed cookie (None: none, or forged, or old)."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw or len(raw) > 500:
        return None
    try:
        found = _device_signer().loads(raw, max_age=DEVICE_DAYS * 86400)
    except BadData:
        return None
    return found if isinstance(found, str) else None


def _remember_device(response: Any, account: str) -> None:
    """Vouch for this browser, so a lock an outsider caused on the account (by guessing from many
    addresses) does not keep its owner out; sent only to the login page."""
    response.set_cookie(DEVICE_COOKIE, _device_signer().dumps(account), max_age=DEVICE_DAYS * 86400,
                        path=url_for("auth.login"), httponly=True, samesite="Strict",
                        secure=state().config.auth.secure_cookies)


@bp.post("/logout")
@access("public")
def logout() -> Any:
    sid = session.get("sid")
    if isinstance(sid, str):
        accounts.sign_out(workspace(), sid)
    session.clear()
    return redirect(url_for("auth.login"))


def init_app(app: Flask, *, exempt: Iterable[Blueprint] = ()) -> None:
    """Register the login pages, the gate (before CSRF, so 401/403 come first) and CSRF protection."""
    app.permanent_session_lifetime = timedelta(hours=app.extensions["tracker"].config.auth.session_hours)
    app.register_blueprint(bp)
    app.before_request(_gate)
    csrf.init_app(app)
    for blueprint in exempt:
        csrf.exempt(blueprint)

    @app.context_processor
    def inject_user() -> dict[str, Any]:
        return {"current_user": g.get("user")}

