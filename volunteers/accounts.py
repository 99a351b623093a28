"""Accounts: logging in by phone number, throttling guesses, API tokens, who sees which grids."""
from __future__ import annotations

import hashlib
import secrets
import unicodedata
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from volunteers import audit
from volunteers.errors import DomainError, N_
from volunteers.models import ApiToken, Grid, GridOfficer, LoginFailure, TeamMember, User, utcnow

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


def recent_failures(session: Session, *, phone: str, ip: str, since: datetime) -> tuple[int, int]:
    """Failed logins since `since`, for this phone and for this address."""
    by_phone = session.exec(
        select(sa.func.count()).select_from(LoginFailure).where(LoginFailure.phone == phone, LoginFailure.at >= since)
    ).one()
    by_ip = session.exec(
        select(sa.func.count()).select_from(LoginFailure).where(LoginFailure.ip == ip, LoginFailure.at >= since)
    ).one()
    return by_phone, by_ip


def authenticate(session: Session, *, phone: str, password: str, ip: str,
                 max_failures: int = 5, window_minutes: int = 15) -> User:
    """Return the active user with this phone and password; refuse throttled, wrong, pending or suspended logins."""
    phone = normalise_phone(phone)
    now = utcnow()
    since = now - timedelta(minutes=window_minutes)
    by_phone, by_ip = recent_failures(session, phone=phone, ip=ip, since=since)
    # An address may try several phones (a shared village computer), so it gets a larger allowance.
    if by_phone >= max_failures or by_ip >= max_failures * 4:
        raise LoginRefused("throttled", N_("Too many wrong passwords. Please wait %(minutes)d minutes and try again."),
                           status=429, minutes=window_minutes)
    user = session.exec(select(User).where(User.phone == phone)).first()
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password or "") and user is not None
    if not ok:
        session.add(LoginFailure(phone=phone, ip=ip, at=now))
        session.commit()
        left = max_failures - by_phone - 1
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


def issue_token(session: Session, *, user: User) -> str:
    """Create an API token for `user`; the plain token is returned once and never stored."""
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=hashlib.sha256(token.encode()).hexdigest()))
    audit.record(session, actor_id=user.id, action="token.issue", obj=user)
    session.commit()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """The active user a Bearer token belongs to, if any."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    user = session.exec(
        select(User).join(ApiToken, ApiToken.user_id == User.id).where(ApiToken.token_hash == digest)
    ).first()
    return user if user is not None and user.status == "active" else None


def grid_ids(session: Session, user: User) -> list[int]:
    """The grids a user works in: an officer's own grids, the whole station for coordinators, else the home grid."""
    if user.role == "officer":
        return list(session.exec(select(GridOfficer.grid_id).where(GridOfficer.user_id == user.id).order_by(GridOfficer.grid_id)))
    if user.role in ("coordinator", "admin"):
        return list(session.exec(select(Grid.id).where(Grid.station_id == user.station_id).order_by(Grid.id)))
    return [user.home_grid_id] if user.home_grid_id else []


def team_ids(session: Session, user: User) -> list[int]:
    """The teams a user belongs to."""
    return list(session.exec(select(TeamMember.team_id).where(TeamMember.user_id == user.id).order_by(TeamMember.team_id)))
