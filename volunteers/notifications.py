"""In-app notifications: stored as a msgid with parameters and translated when shown.

Changes to one report within GROUP_WINDOW are grouped into one message per person ("你上报的'楼道堆放杂物'：已受理，
已派给 张三"): the message keeps a list of changes, each a msgid with its parameters. The unread badge counts threads
(a report's messages once), not events. Each person chooses per kind: in-app only, or in-app and SMS; an SMS leaves
once its group is complete (send_due_sms, a job), and not at all if the message was read before then.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable

import sqlalchemy as sa
from sqlmodel import Session, select

from volunteers import db
from volunteers.errors import Conflict, N_
from volunteers.models import Notification, NotificationChoice, User, utcnow
from volunteers.sms import Sms

GROUP_WINDOW = timedelta(minutes=10)
# Kinds a person chooses for: in-app only, or in-app and SMS. (A shift reminder, kind "reminder", always goes by SMS
# from duties.remind_upcoming, so it is not a choice.)
KINDS = ("my_report", "question", "grid_report", "other")
KIND_LABELS = {"my_report": N_("News about reports I made"), "question": N_("An officer asks me about my report"),
               "grid_report": N_("New reports and replies in my grids"), "other": N_("Tasks, shifts and everything else")}
# Messages stored before grouping (issue 16) still name these msgids; kept so they stay translated.
EARLIER = (N_("New report #%(id)d in your grid."), N_("Your report #%(id)d is now: %(status)s."),
           N_("Report #%(id)d was assigned to you."))
MAX_CHANGES = 8  # a group stops growing here; the next change starts a new message


def notify(session: Session, *, user_id: int | None, message: str, link: str = "", kind: str = "other",
           **params: Any) -> None:
    """Queue a message for one person (not committed: it rides the caller's transaction)."""
    if user_id is None:
        return
    session.add(Notification(user_id=user_id, message=message, params=params, link=link, kind=kind,
                             sms_state="due" if wants_sms(session, user_id, kind) else ""))


def about_report(session: Session, *, user_id: int | None, hazard_id: int, headline: str, change: str,
                 change_params: dict[str, Any] | None = None, kind: str = "my_report", now: datetime | None = None,
                 link: str | None = None, **params: Any) -> None:
    """Tell one person of one change to a report; an unread message about the same report from the last
    GROUP_WINDOW takes the change instead of a new message (not committed)."""
    if user_id is None:
        return
    now = now or utcnow()
    step = [change, change_params or {}]
    session.flush()  # an earlier change in this same transaction must be found below
    group = session.exec(select(Notification).where(
        Notification.user_id == user_id, Notification.hazard_id == hazard_id, Notification.read_at.is_(None),
        Notification.created_at >= now - GROUP_WINDOW).order_by(Notification.id.desc()).with_for_update()).first()
    if group is not None and len(group.params.get("changes", [])) < MAX_CHANGES and group.message == headline:
        if group.params.get("changes", [])[-1:] != [step]:
            group.params = {**group.params, **params, "changes": [*group.params.get("changes", []), step]}
        group.updated_at = now
        if group.kind != kind and wants_sms(session, user_id, kind) and group.sms_state == "":
            group.sms_state = "due"
        session.add(group)
        return
    session.add(Notification(**first_about_report(user_id, hazard_id=hazard_id, headline=headline, step=step,
                                                  kind=kind, now=now, link=link, params=params,
                                                  sms=wants_sms(session, user_id, kind))))


def first_about_report(user_id: int, *, hazard_id: int, headline: str, step: list, kind: str, now: datetime,
                       link: str | None, params: dict[str, Any], sms: bool) -> dict[str, Any]:
    """The columns of a report's first message to one person (the hot path of a new report inserts these rows
    directly: a new report has no earlier message to group with)."""
    return dict(user_id=user_id, hazard_id=hazard_id, message=headline, link=link or f"/hazards/{hazard_id}/thread",
                params={**params, "changes": [step]}, kind=kind, created_at=now, updated_at=now, read_at=None,
                sms_state="due" if sms else "")


def wants_sms(session: Session, user_id: int, kind: str) -> bool:
    """Whether the person chose in-app and SMS for this kind of message."""
    choice = session.get(NotificationChoice, (user_id, kind))
    return bool(choice and choice.sms)


def choices(session: Session, user: User) -> dict[str, bool]:
    """Kind → SMS too? (False: in-app only, the default)."""
    rows = {c.kind: c.sms for c in session.exec(select(NotificationChoice).where(NotificationChoice.user_id == user.id))}
    return {kind: rows.get(kind, False) for kind in KINDS}


def choose(session: Session, user: User, sms_kinds: set[str]) -> dict[str, bool]:
    """Save the person's choices: the kinds named get SMS too, the others in-app only (unknown names are ignored)."""
    # Two saves at the same instant (a double tap) would both add the first choices: the second is told to reload.
    with db.unique_or(session, Conflict("choices_saved_meanwhile", N_("Your choices were saved just now. Please "
                                                                      "reload to see them."))):
        for kind in KINDS:
            row = session.get(NotificationChoice, (user.id, kind)) or NotificationChoice(user_id=user.id, kind=kind)
            row.sms = kind in sms_kinds
            session.add(row)
    session.commit()
    return choices(session, user)


def unread_count(session: Session, user: User) -> int:
    """How many threads (a report's messages count once) the person has not opened yet."""
    thread = sa.func.coalesce(Notification.hazard_id, -Notification.id)
    return session.exec(select(sa.func.count(sa.distinct(thread)))
                        .where(Notification.user_id == user.id, Notification.read_at.is_(None))).one()


def latest(session: Session, user: User, limit: int = 50) -> list[Notification]:
    """The person's latest messages, newest change first."""
    newest = sa.func.coalesce(Notification.updated_at, Notification.created_at)
    return list(session.exec(select(Notification).where(Notification.user_id == user.id)
                             .order_by(newest.desc(), Notification.id.desc()).limit(limit)))


def mark_all_read(session: Session, user: User) -> None:
    """Mark every message of the person as read."""
    session.exec(sa.update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
                 .values(read_at=utcnow()))
    session.commit()


def mark_thread_read(session: Session, user: User, hazard_id: int) -> None:
    """Opening a report's page reads its messages (the badge counts threads)."""
    session.exec(sa.update(Notification).where(Notification.user_id == user.id, Notification.hazard_id == hazard_id,
                                               Notification.read_at.is_(None)).values(read_at=utcnow()))
    session.commit()


def send_due_sms(session: Session, *, sms: Sms, render: Callable[[str, dict[str, Any]], str],
                 now: datetime | None = None) -> int:
    """Send each message whose person chose SMS once its group is complete (GROUP_WINDOW after it began); one read
    in the app meanwhile is not sent. Returns how many SMS left."""
    now = now or utcnow()
    due = list(session.exec(select(Notification).where(Notification.sms_state == "due",
                                                       Notification.created_at <= now - GROUP_WINDOW)
                            .order_by(Notification.id).limit(500)))
    sent = 0
    for n in due:
        if n.read_at is not None:
            n.sms_state = "skipped"
        else:
            person = session.get(User, n.user_id)
            if person is not None and person.status == "active":
                sms.send(person.phone, render(n.message, n.params))
                sent += 1
            n.sms_state = "sent"
        session.add(n)
        session.commit()  # one at a time: a crash mid-round never sends one twice
    return sent
