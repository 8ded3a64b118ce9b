"""Accounts: users and roles, argon2id passwords, API tokens, server-side web sessions, login throttling.

No Flask here: the CLI (``tracker users ...``), the web login and the JSON API all call these
functions with a session. Secrets (API tokens, session ids) are shown once and only their sha256
is stored, so a leaked database does not hand out working credentials.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from tracker import audit
from tracker.config import AuthConfig
from tracker.errors import Refused
from tracker.models import ApiToken, LoginAttempt, User, WebSession, utcnow
from tracker.vocabulary import ROLES

log = logging.getLogger(__name__)

_hasher = PasswordHasher()  # argon2id with the RFC 9106 low-memory profile
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")
TOKEN_PREFIX = "trk_"
#: One address may fail this many times more often than one account from it: colleagues behind one
#: office NAT should not lock each other out after a single person's typos.
ADDRESS_FACTOR = 4
#: An account may fail this many times more often, from all addresses together, before logins without
#: a known-device cookie wait too: guessing spread over many addresses is slowed, while the account's
#: owner, from a browser that signed in before, still gets in.
ACCOUNT_FACTOR = 10


class AccountError(Refused):
    """A user or password request that cannot be applied; ``field`` names the bad input."""

    def __init__(self, message: str, field: str | None = None, *, kind: str = "invalid") -> None:
        super().__init__(message, kind=kind, field=field)


def role_rank(role: str | None) -> int:
    """viewer < researcher < admin; anonymous (None) is below them all."""
    return ROLES.index(role) + 1 if role in ROLES else 0


def sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- passwords

def hash_password(password: str, cfg: AuthConfig) -> str:
    if len(password) < cfg.min_password_length:
        raise AccountError(f"password must have at least {cfg.min_password_length} characters", "password")
    if len(password) > 1024:
        raise AccountError("password is longer than 1024 characters", "password")
    return _hasher.hash(password)


def verify_password(user: User | None, password: str) -> bool:
    """True when ``password`` matches; a missing user still costs one hash, so timing does not tell."""
    if user is None or not user.password_hash:
        try:
            _hasher.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


_DUMMY_HASH = _hasher.hash("not a real password, only for timing")


# ---------------------------------------------------------------- users

def user_view(user: User) -> dict[str, Any]:
    return {"id": user.id, "name": user.name, "role": user.role, "disabled": user.disabled,
            "created_at": user.created_at.isoformat() if user.created_at else None}


def get_user(session: Session, name: str) -> User | None:
    return session.scalar(select(User).where(User.name == name))


def create_user(session: Session, name: str, role: str, password: str | None, cfg: AuthConfig, *,
                by: User | None = None) -> User:
    """Add a user (with its audit row); ``password`` None makes a token-only account."""
    name = (name or "").strip()
    if not _NAME.match(name):
        raise AccountError("name: 1-100 letters, digits or _.@- starting with a letter or digit", "name")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}", "role")
    if get_user(session, name) is not None:
        raise AccountError(f"a user called {name!r} exists already", "name", kind="conflict")
    user = User(name=name, role=role, password_hash=hash_password(password, cfg) if password is not None else None)
    session.add(user)
    session.flush()
    audit.record(session, by, "user.add", "user", user.id, None, {"name": name, "role": role})
    return user


def active_admins(session: Session) -> int:
    return int(session.scalar(select(func.count(User.id)).where(User.role == "admin", User.disabled.is_(False)))
               or 0)


def update_user(session: Session, user: User, cfg: AuthConfig, *, role: str | None = None,
                disabled: bool | None = None, password: str | None = None, by: User | None = None) -> User:
    """Change role, disabled flag or password; the last active admin cannot be demoted or disabled."""
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    if role is not None and role != user.role:
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}", "role")
        old["role"], new["role"] = user.role, role
    if disabled is not None and disabled != user.disabled:
        old["disabled"], new["disabled"] = user.disabled, disabled
    losing_admin = user.role == "admin" and not user.disabled and (
        new.get("role", "admin") != "admin" or new.get("disabled", False))
    if losing_admin and active_admins(session) <= 1:
        raise AccountError("the last active admin cannot be demoted or disabled",
                           "role" if "role" in new else "disabled", kind="conflict")
    if password is not None:
        user.password_hash = hash_password(password, cfg)
        old["password"], new["password"] = "(hidden)", "changed"
    if "role" in new:
        user.role = new["role"]
    if "disabled" in new:
        user.disabled = new["disabled"]
    if new.get("disabled") or "password" in new:
        end_sessions(session, user.id)
    if "password" in new:
        # A new password is what people do when they fear a credential leaked: the tokens go too.
        new["tokens_revoked"] = revoke_tokens(session, user.id)
    if new:
        audit.record(session, by, "user.update", "user", user.id, old, new)
    session.flush()
    return user


# ---------------------------------------------------------------- API tokens

#: A token's last use is written at most this often (a busy script would otherwise write on every call).
TOKEN_TOUCH = timedelta(minutes=1)
MAX_TOKEN_DAYS = 3650


def issue_token(session: Session, user: User, *, label: str | None = None, by: User | None = None,
                expires_days: int | None = None) -> str:
    """A new API token for ``user``, valid until revoked or for ``expires_days``; the caller shows it once,
    only its hash is kept."""
    if expires_days is not None and not 1 <= expires_days <= MAX_TOKEN_DAYS:
        raise AccountError(f"a token expires after 1 to {MAX_TOKEN_DAYS} days", "expires")
    if label is not None and len(label) > 100:
        raise AccountError("label is longer than 100 characters", "label")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(days=expires_days) if expires_days is not None else None
    session.add(ApiToken(user_id=user.id, token_hash=sha256(token), name=label, expires_at=expires))
    session.flush()
    audit.record(session, by, "token.issue", "user", user.id, None,
                 {"label": label, "expires_at": expires.isoformat() if expires else None})
    return token


def token_state(token: ApiToken, now: datetime | None = None) -> str:
    if token.revoked:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= (now or utcnow()):
        return "expired"
    return "active"


def token_view(token: ApiToken, user_name: str | None = None) -> dict[str, Any]:
    """A token as admins see it: never the secret, which only its holder has."""
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {"id": token.id, "user_id": token.user_id, "user": user_name, "label": token.name,
            "created_at": iso(token.created_at), "last_used_at": iso(token.last_used_at),
            "expires_at": iso(token.expires_at), "state": token_state(token)}


def list_tokens(session: Session, *, user_id: int | None = None) -> list[dict[str, Any]]:
    """Every token (of one user), newest first, with its owner's name."""
    query = select(ApiToken, User.name).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id.desc())
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    return [token_view(t, name) for t, name in session.execute(query)]


def revoke_token(session: Session, token_id: int, *, by: User | None = None) -> dict[str, Any]:
    """Revoke one token (revoking a revoked token changes nothing and writes nothing)."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise AccountError(f"token {token_id} does not exist", "token", kind="not_found")
    if not token.revoked:
        token.revoked = True
        audit.record(session, by, "token.revoke", "user", token.user_id, {"token": token.id, "revoked": False},
                     {"token": token.id, "revoked": True})
        session.flush()
    owner = session.get(User, token.user_id)
    return token_view(token, owner.name if owner else None)


def revoke_tokens(session: Session, user_id: int) -> int:
    """Revoke every live token of a user; returns how many."""
    result = session.execute(update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked.is_(False))
                             .values(revoked=True))
    return int(getattr(result, "rowcount", 0) or 0)


def user_for_token(session: Session, token: str) -> tuple[User, ApiToken] | None:
    """The enabled user owning a token that is neither revoked nor expired, with the token; or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = session.execute(
        select(User, ApiToken).join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == sha256(token), ApiToken.revoked.is_(False), User.disabled.is_(False),
               or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > utcnow()))
    ).first()
    return (row[0], row[1]) if row else None


def touch_token(session: Session, token_id: int, now: datetime | None = None) -> None:
    """Record that a token was just used, unless that was recorded within ``TOKEN_TOUCH``."""
    now = now or utcnow()
    session.execute(update(ApiToken).where(
        ApiToken.id == token_id, or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - TOKEN_TOUCH))
        .values(last_used_at=now))


# ---------------------------------------------------------------- web sessions

def start_session(session: Session, user: User, cfg: AuthConfig) -> str:
    """A fresh session id for a successful login (never reused, so fixation cannot work)."""
    sid = secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=sha256(sid), user_id=user.id,
                           expires_at=utcnow() + timedelta(hours=cfg.session_hours)))
    session.flush()
    return sid


def user_for_session(session: Session, sid: str) -> User | None:
    if not sid or len(sid) > 200:
        return None
    row = session.execute(
        select(User).join(WebSession, WebSession.user_id == User.id)
        .where(WebSession.token_hash == sha256(sid), WebSession.revoked.is_(False),
               WebSession.expires_at > utcnow(), User.disabled.is_(False))
    ).first()
    return row[0] if row else None


def end_session(session: Session, sid: str) -> None:
    session.execute(update(WebSession).where(WebSession.token_hash == sha256(sid)).values(revoked=True))


def end_sessions(session: Session, user_id: int) -> None:
    """Log a user out everywhere (password change, disabling)."""
    session.execute(update(WebSession).where(WebSession.user_id == user_id).values(revoked=True))


# ---------------------------------------------------------------- throttling
#
# Failures count three ways: per account and address together (``max_failed_logins``), per address
# over all accounts (times ``ADDRESS_FACTOR``) and per account over all addresses (times
# ``ACCOUNT_FACTOR``). An outsider guessing an admin's password from one address locks only that
# address out; the account-wide lock, which needs many addresses, spares a browser that signed in to
# the account before (a signed known-device cookie, checked by the web face).

def _keys(name: str, address: str | None) -> tuple[str, str, str]:
    account = name.strip().casefold()[:100]
    where = (address or "unknown")[:45]
    return f"user:{account}", f"ip:{where}", f"pair:{where}:{account}"


def login_blocked(session: Session, name: str, address: str | None, cfg: AuthConfig,
                  now: datetime | None = None, *, known_device: bool = False) -> bool:
    """True when this account from this address, this address, or (unless ``known_device``) this
    account from anywhere failed too often within ``lockout_minutes``."""
    since = (now or utcnow()) - timedelta(minutes=cfg.lockout_minutes)
    user_key, ip_key, pair_key = _keys(name, address)
    counts = dict(session.execute(
        select(LoginAttempt.key, func.count()).where(LoginAttempt.key.in_((user_key, ip_key, pair_key)),
                                                     LoginAttempt.at > since).group_by(LoginAttempt.key)).all())
    return (counts.get(pair_key, 0) >= cfg.max_failed_logins
            or counts.get(ip_key, 0) >= cfg.max_failed_logins * ADDRESS_FACTOR
            or (not known_device and counts.get(user_key, 0) >= cfg.max_failed_logins * ACCOUNT_FACTOR))


def record_failure(session: Session, name: str, address: str | None) -> None:
    session.add_all([LoginAttempt(key=key) for key in _keys(name, address)])


def clear_failures(session: Session, name: str, address: str | None, cfg: AuthConfig) -> None:
    """A successful login forgets its own typos (this account from this address); the address and the
    account keep their counts, or a guesser spread over many addresses would start afresh each time the
    owner signs in."""
    _, _, pair_key = _keys(name, address)
    session.execute(delete(LoginAttempt).where(LoginAttempt.key == pair_key))
    # Old rows of any key are useless; prune them while we are here.
    cutoff = utcnow() - timedelta(minutes=cfg.lockout_minutes, days=1)
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < cutoff))


def authenticate(session: Session, name: str, password: str) -> User | None:
    """The enabled user for this name and password, or None."""
    user = get_user(session, (name or "").strip())
    if not verify_password(user, password or ""):
        return None
    assert user is not None
    return None if user.disabled else user


@dataclass(frozen=True)
class SignIn:
    """How a sign-in went: ``session_id`` for a new web session, or why there is none."""

    user: User | None = None
    session_id: str | None = None
    throttled: bool = False


def sign_in(session: Session, name: str, password: str, address: str | None, cfg: AuthConfig, *,
            known_device: bool = False) -> SignIn:
    """Check a name and password against the throttle and the stored hash; on success a new web session,
    on failure one more failed attempt. ``known_device``: the browser signed in to this account before."""
    if login_blocked(session, name, address, cfg, known_device=known_device):
        log.warning("login throttled for %r from %s", name, address)
        return SignIn(throttled=True)
    user = authenticate(session, name, password)
    if user is None:
        record_failure(session, name, address)
        return SignIn()
    clear_failures(session, name, address, cfg)
    return SignIn(user=user, session_id=start_session(session, user, cfg))


def device_name(name: str) -> str:
    """How a known-device cookie names the account it vouches for."""
    return _keys(name, None)[0]
