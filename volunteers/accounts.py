"""Accounts: logging in by phone number, throttling guesses, API tokens, who sees which grids."""
from __future__ import annotations

import hashlib
import secrets
import unicodedata
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from volunteers import audit, db
from volunteers.errors import DomainError, N_, NotFound
from volunteers.models import ApiToken, Grid, GridOfficer, LoginFailure, TeamMember, User, UserSession, utcnow

# Checked against when the phone is unknown, so a wrong phone costs as much time as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def hash_password(password: str) -> str:
    """A salted scrypt hash (werkzeug's default)."""
    return generate_password_hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether the password matches the stored hash."""
    return check_password_hash(password_hash, password)


def normalise_phone(phone: str) -> str:
    """Digits only, without a +86/0086 prefix, so '+86 138-0000-0201' logs in as 13800000201."""
    # A Chinese input method in full-width mode types １３８…: those are the same digits.
    digits = "".join(str(unicodedata.decimal(ch)) for ch in (phone or "") if ch.isdecimal())
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    elif len(digits) == 15 and digits.startswith("0086"):
        digits = digits[4:]
    return digits


def mask_phone(phone: str) -> str:
    """138****0201: enough to tell people apart in a list, not enough to call them."""
    if len(phone) < 8:
        return "*" * len(phone)
    return phone[:3] + "****" + phone[-4:]


class LoginRefused(DomainError):
    """Login failed; status 401 (wrong), 403 (account state) or 429 (throttled)."""


# Who may try again, and when. A wrong password counts against the pair (this phone number, this address): five in the
# window stop only that pair, so a stranger typing the owner's number cannot lock the owner out from their own phone.
# The number from everywhere gets ten times that (guessing spread over many addresses), one address twenty times
# (a village NAT or a shared computer at the station holds many honest people; behind nginx the address is the
# phone's own only with VOLUNTEERS_PROXY_COUNT set).
PHONE_FACTOR, ADDRESS_FACTOR = 10, 20

# A login's last_seen_at and a token's last_used_at are written at most this often, so an ordinary request does not
# write to the database.
SEEN_EVERY = timedelta(minutes=10)


def recent_failures(session: Session, *, phone: str, ip: str, since: datetime) -> tuple[int, int, int]:
    """Failed logins since `since`: for this phone from this address, for this phone, and for this address."""
    def count(*where) -> int:
        return session.exec(select(sa.func.count()).select_from(LoginFailure).where(LoginFailure.at >= since, *where)).one()
    return (count(LoginFailure.phone == phone, LoginFailure.ip == ip), count(LoginFailure.phone == phone),
            count(LoginFailure.ip == ip))


def lockouts(session: Session, *, phones: list[str], window_minutes: int = 15) -> dict[str, int]:
    """Recent wrong passwords per phone (for the officer's people page: who is being kept out, and by how much)."""
    if not phones:
        return {}
    since = utcnow() - timedelta(minutes=window_minutes)
    rows = session.exec(select(LoginFailure.phone, sa.func.count()).where(LoginFailure.phone.in_(phones),
                                                                          LoginFailure.at >= since)
                        .group_by(LoginFailure.phone))
    return dict(rows.all())


def clear_lockout(session: Session, *, actor: User, user: User, ip: str | None = None) -> int:
    """Forget a person's wrong passwords (an officer who has checked it is really them on the phone); audited."""
    removed = session.exec(sa.delete(LoginFailure).where(LoginFailure.phone == user.phone)).rowcount
    audit.record(session, actor_id=actor.id, action="user.clear_lockout", obj=user, ip=ip, failures=removed)
    session.commit()
    return removed


def authenticate(session: Session, *, phone: str, password: str, ip: str,
                 max_failures: int = 5, window_minutes: int = 15) -> User:
    """Return the active user with this phone and password; refuse throttled, wrong, pending or suspended logins."""
    phone = normalise_phone(phone)
    now = utcnow()
    since = now - timedelta(minutes=window_minutes)
    by_pair, by_phone, by_ip = recent_failures(session, phone=phone, ip=ip, since=since)
    if by_pair >= max_failures or by_phone >= max_failures * PHONE_FACTOR or by_ip >= max_failures * ADDRESS_FACTOR:
        raise LoginRefused("throttled", N_("Too many wrong passwords. Please wait %(minutes)d minutes and try again."),
                           status=429, minutes=window_minutes)
    user = session.exec(select(User).where(User.phone == phone)).first()
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password or "") and user is not None
    if not ok:
        session.add(LoginFailure(phone=phone, ip=ip, at=now))
        session.commit()
        left = max_failures - by_pair - 1
        if left <= 0:
            raise LoginRefused("throttled", N_("Too many wrong passwords. Please wait %(minutes)d minutes and try again."),
                               status=429, minutes=window_minutes)
        raise LoginRefused("wrong_password", N_("Wrong phone number or password. %(left)d tries left."),
                           status=401, left=left)
    if user.status == "pending":
        raise LoginRefused("pending", N_("Your account is waiting for approval. Your grid officer or coordinator will approve it."), status=403)
    if user.status == "suspended":
        raise LoginRefused("suspended", N_("Your account is suspended. Please contact your grid officer."), status=403)
    session.exec(sa.delete(LoginFailure).where(LoginFailure.phone == phone))
    audit.record(session, actor_id=user.id, action="login", obj=user, ip=ip)
    session.commit()
    return user


def issue_token(session: Session, *, user: User, label: str = "") -> str:
    """Create an API token for `user`, named by `label` (the device or script it is for); the plain token is
    returned once and never stored."""
    token = secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=hashlib.sha256(token.encode()).hexdigest(), label=label.strip()[:80])
    session.add(row)
    session.flush()
    audit.record(session, actor_id=user.id, action="token.issue", obj=user, token_id=row.id, label=row.label)
    session.commit()
    return token


# Built once: every API request asks it (issue 13). Core columns, not the ORM entity: loading a User through the ORM
# cost ~3× the statement itself; the row becomes a User below without a second look-up.
_user_t, _token_t = User.__table__, ApiToken.__table__
_USER_COLUMNS = tuple(c.name for c in _user_t.columns)
_TOKEN_USER = db.Prebuilt(sa.select(*_user_t.columns, _token_t.c.id.label("token_id"),
                        _token_t.c.last_used_at.label("token_last_used_at")) \
    .join(_token_t, _token_t.c.user_id == _user_t.c.id).where(_token_t.c.token_hash == sa.bindparam("digest")))
_SEEN = sa.update(_token_t).where(_token_t.c.id == sa.bindparam("token_id")).values(last_used_at=sa.bindparam("now"))


def user_for_token(session: Session, token: str, *, now: datetime | None = None) -> User | None:
    """The active user a Bearer token belongs to, if any; the token's last use is noted (at most every few minutes,
    so ordinary requests stay reads)."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    found = _TOKEN_USER.first(session.connection(), {"digest": digest})
    if found is None or found.status != "active":
        return None
    now = now or utcnow()
    if found.token_last_used_at is None or now - found.token_last_used_at > SEEN_EVERY:
        session.connection().execute(_SEEN, {"token_id": found.token_id, "now": now})
        session.commit()
    return _as_user(session, found)


def _as_user(session: Session, row: sa.Row) -> User:
    """The row as the session's persistent User, as if loaded (the one already in the session, if it is)."""
    return db.as_loaded(session, User, dict(zip(_USER_COLUMNS, row[:len(_USER_COLUMNS)])))


def tokens_of(session: Session, *, user: User) -> list[ApiToken]:
    """A person's own API tokens, newest first (their labels and times; the secret itself is never kept)."""
    return list(session.exec(select(ApiToken).where(ApiToken.user_id == user.id)
                             .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def revoke_token(session: Session, *, user: User, token_id: int | None, ip: str | None = None) -> ApiToken:
    """Delete one of the person's own API tokens (a lost phone, a retired script); anyone else's is not found.
    Audited; commits."""
    row = db.get(session, ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound(N_("This token does not exist."))
    session.delete(row)
    audit.record(session, actor_id=user.id, action="token.revoke", obj=user, ip=ip, token_id=row.id, label=row.label)
    session.commit()
    return row


# --- Sessions that end ------------------------------------------------------------------------------
# A login is a UserSession row; the cookie (and the remember cookie) carry "<user id>:<row id>:<nonce>".

def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def open_session(session: Session, *, user: User) -> str:
    """A new login for `user`; returns the id string to keep in the cookie (the nonce is stored only hashed).
    Commits."""
    nonce = secrets.token_urlsafe(24)
    row = UserSession(user_id=user.id, nonce_hash=_digest(nonce))
    session.add(row)
    session.commit()
    return f"{user.id}:{row.id}:{nonce}"


def session_user(session: Session, cookie_id: str, *, idle: timedelta, lifetime: timedelta,
                 now: datetime | None = None) -> tuple[User, UserSession] | None:
    """The active user and their login for a cookie's id string, unless the login was revoked, unused for longer than
    `idle` or older than `lifetime`. An expired login is revoked on the way."""
    parts = cookie_id.split(":") if isinstance(cookie_id, str) else []
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or not parts[2]:
        return None
    row = session.get(UserSession, int(parts[1]))
    if row is None or row.user_id != int(parts[0]) or row.revoked_at is not None:
        return None
    if not secrets.compare_digest(row.nonce_hash, _digest(parts[2])):
        return None
    now = now or utcnow()
    if now - row.last_seen_at > idle or now - row.created_at > lifetime:
        row.revoked_at = now
        session.add(row)
        session.commit()
        return None
    user = session.get(User, row.user_id)
    if user is None or user.status != "active":
        return None
    if now - row.last_seen_at > SEEN_EVERY:
        row.last_seen_at = now
        session.add(row)
        session.commit()
    return user, row


def revoke_session(session: Session, session_id: int | None) -> None:
    """End one login (logout). Does not commit."""
    row = session.get(UserSession, session_id) if session_id else None
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)


def revoke_credentials(session: Session, *, user_id: int, keep_session_id: int | None = None) -> None:
    """After a password change or reset: every login of this person but `keep_session_id` ends, and every API token
    of theirs is deleted. Does not commit."""
    query = sa.update(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
    if keep_session_id is not None:
        query = query.where(UserSession.id != keep_session_id)
    session.exec(query.values(revoked_at=utcnow()))
    session.exec(sa.delete(ApiToken).where(ApiToken.user_id == user_id))


def grid_ids(session: Session, user: User) -> list[int]:
    """The grids a user works in: an officer's own grids, the whole station for coordinators, else the home grid."""
    if user.role == "officer":
        return list(session.exec(select(GridOfficer.grid_id).where(GridOfficer.user_id == user.id).order_by(GridOfficer.grid_id)))
    if user.is_manager:
        return list(session.exec(select(Grid.id).where(Grid.station_id == user.station_id).order_by(Grid.id)))
    return [user.home_grid_id] if user.home_grid_id else []


def team_ids(session: Session, user: User) -> list[int]:
    """The teams a user belongs to."""
    return list(session.exec(select(TeamMember.team_id).where(TeamMember.user_id == user.id).order_by(TeamMember.team_id)))
