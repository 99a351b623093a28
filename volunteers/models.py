"""Every table, grouped by entity. Times are UTC-aware; foreign keys say what happens on delete."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from volunteers.roles import MANAGERS, ROLES, STAFF

# Stable constraint names, so Alembic migrations name the same thing the same way on every database.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """Stores UTC, returns aware UTC datetimes on SQLite (naive storage) and PostgreSQL alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use aware UTC times")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def when(nullable: bool = False, **kw: Any):
    """A UTC-aware timestamp column."""
    return Field(sa_column=sa.Column(UTCDateTime(), nullable=nullable, **kw))


def fk(target: str, ondelete: str, nullable: bool = False, index: bool = True):
    """A foreign key column with an explicit delete rule."""
    return Field(
        default=None if nullable else ...,
        sa_column=sa.Column(sa.Integer, sa.ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index),
    )


# --- Station, grids, checkpoints, routes -------------------------------------------------------

class Station(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=100)


class Grid(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("station_id", "code", name="uq_grid_station_code"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    station_id: int = fk("station.id", "CASCADE")
    code: str = Field(max_length=32)
    name: str = Field(max_length=100)
    boundary: dict = Field(sa_column=sa.Column(sa.JSON, nullable=False))  # GeoJSON Polygon geometry


class GridOfficer(SQLModel, table=True):
    """Which officers hold which grids (one officer often holds several)."""
    __tablename__ = "grid_officer"
    grid_id: int = Field(sa_column=sa.Column(sa.Integer, sa.ForeignKey("grid.id", ondelete="CASCADE"), primary_key=True))
    user_id: int = Field(sa_column=sa.Column(sa.Integer, sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True))


class Checkpoint(SQLModel, table=True):
    """A must-visit point (必到点): a place, a radius, and the secret its QR poster is signed with."""
    id: Optional[int] = Field(default=None, primary_key=True)
    grid_id: int = fk("grid.id", "CASCADE")
    name: str = Field(max_length=100)
    lat: float
    lon: float
    radius_m: int = Field(default=50)
    qr_secret: str = Field(max_length=64)
    retired_at: Optional[datetime] = when(nullable=True)  # no longer in use: off every route, its QR refused


class Route(SQLModel, table=True):
    """A must-patrol route (必巡线) through ordered checkpoints of one grid."""
    id: Optional[int] = Field(default=None, primary_key=True)
    grid_id: int = fk("grid.id", "CASCADE")
    name: str = Field(max_length=100)


class RouteStop(SQLModel, table=True):
    __tablename__ = "route_stop"
    route_id: int = Field(sa_column=sa.Column(sa.Integer, sa.ForeignKey("route.id", ondelete="CASCADE"), primary_key=True))
    position: int = Field(sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=False))
    checkpoint_id: int = fk("checkpoint.id", "CASCADE")


# --- People and teams ---------------------------------------------------------------------------

STATUSES = ("pending", "active", "suspended")


class User(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    station_id: int = fk("station.id", "CASCADE")
    phone: str = Field(max_length=20, unique=True)
    name: str = Field(max_length=50)
    password_hash: str = Field(max_length=255)
    role: str = Field(default="volunteer", max_length=16)
    status: str = Field(default="active", max_length=16)
    home_grid_id: Optional[int] = fk("grid.id", "SET NULL", nullable=True)
    created_at: datetime = when(default=utcnow)
    # Set when someone else reset the password: the person chooses their own before anything else.
    must_change_password: bool = Field(default=False, sa_column=sa.Column(
        sa.Boolean, nullable=False, default=False, server_default=sa.false()))

    # Flask-Login's user protocol, spelled out here so the domain needs no Flask import.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    # The role rule (volunteers/roles.py): staff work for the station, managers run it.
    @property
    def is_staff(self) -> bool:
        return self.role in STAFF

    @property
    def is_manager(self) -> bool:
        return self.role in MANAGERS


class Team(SQLModel, table=True):
    """A volunteer team: 义警队, 红袖标, 护学岗队, 十户联防 unit …"""
    id: Optional[int] = Field(default=None, primary_key=True)
    station_id: int = fk("station.id", "CASCADE")
    name: str = Field(max_length=100)
    kind: str = Field(max_length=32)
    leader_id: Optional[int] = fk("user.id", "SET NULL", nullable=True, index=False)


class TeamMember(SQLModel, table=True):
    __tablename__ = "team_member"
    team_id: int = Field(sa_column=sa.Column(sa.Integer, sa.ForeignKey("team.id", ondelete="CASCADE"), primary_key=True))
    user_id: int = Field(sa_column=sa.Column(sa.Integer, sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True))


class ApiToken(SQLModel, table=True):
    """A Bearer token for scripts and integrations; only its SHA-256 is stored."""
    __tablename__ = "api_token"
    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = fk("user.id", "CASCADE")
    token_hash: str = Field(max_length=64, unique=True)
    label: str = Field(default="", max_length=80)  # which device or script it was made for (flask token --label)
    created_at: datetime = when(default=utcnow)
    last_used_at: Optional[datetime] = when(nullable=True)  # written at most every few minutes


class UserSession(SQLModel, table=True):
    """One login on one device. The cookie carries its id and a random nonce (only the nonce's SHA-256 is stored);
    logout revokes this row only, a password change or reset revokes the person's other rows."""
    __tablename__ = "user_session"
    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = fk("user.id", "CASCADE")
    nonce_hash: str = Field(max_length=64)
    created_at: datetime = when(default=utcnow)
    last_seen_at: datetime = when(default=utcnow)
    revoked_at: Optional[datetime] = when(nullable=True)


class PhotoUpload(SQLModel, table=True):
    """One photo a person sent, counted whether or not it was kept, for an hour or so: the per-person upload limit."""
    __tablename__ = "photo_upload"
    __table_args__ = (sa.Index("ix_photo_upload_user_at", "user_id", "at"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = fk("user.id", "CASCADE", index=False)
    size_bytes: int
    at: datetime = when(default=utcnow)


class LoginFailure(SQLModel, table=True):
    """One wrong password, kept for a short while to throttle guessing."""
    __tablename__ = "login_failure"
    id: Optional[int] = Field(default=None, primary_key=True)
    phone: str = Field(max_length=20, index=True)
    ip: str = Field(max_length=64, index=True)
    at: datetime = when(default=utcnow, index=True)


# --- Patrols and check-ins ----------------------------------------------------------------------

class Patrol(SQLModel, table=True):
    """A volunteer's patrol session, from start to end. The database itself allows one open patrol per person."""
    __table_args__ = (sa.Index("uq_patrol_one_open", "user_id", unique=True, sqlite_where=sa.text("ended_at IS NULL"),
                               postgresql_where=sa.text("ended_at IS NULL")),
                      sa.Index("ix_patrol_station_started", "station_id", "started_at"),
                      sa.Index("ix_patrol_user_started", "user_id", "started_at"))  # a person's recent patrols
    id: Optional[int] = Field(default=None, primary_key=True)
    client_id: str = Field(max_length=64, unique=True)
    fingerprint: str = Field(max_length=64)
    user_id: int = fk("user.id", "CASCADE", index=False)  # indexed with started_at (and by uq_patrol_one_open)
    # The volunteer's station, so a patrol (and its check-ins and positions, one join away) is scoped by station.
    # Nullable only so rows written before migration 0011 and bare test rows load; patrols.start always sets it.
    station_id: Optional[int] = Field(default=None, sa_column=sa.Column(
        sa.Integer, sa.ForeignKey("station.id", ondelete="CASCADE", name="fk_patrol_station_id_station"), nullable=True))
    route_id: Optional[int] = fk("route.id", "SET NULL", nullable=True)
    started_at: datetime = when(index=True)
    ended_at: Optional[datetime] = when(nullable=True)
    received_at: datetime = when(default=utcnow)
    # Ended within a minute of its start with no check-in (a mistaken tap): kept for retries, counted nowhere.
    discarded: bool = Field(default=False, sa_column=sa.Column(
        sa.Boolean, nullable=False, default=False, server_default=sa.false()))


class CheckIn(SQLModel, table=True):
    """Evidence that a volunteer stood at a checkpoint: where, how precisely, when (device and server)."""
    __tablename__ = "checkin"
    __table_args__ = (sa.Index("ix_checkin_patrol_recorded", "patrol_id", "recorded_at"),  # the previous check-in
                      sa.Index("ix_checkin_checkpoint_recorded", "checkpoint_id", "recorded_at"))  # a point's visits today
    id: Optional[int] = Field(default=None, primary_key=True)
    client_id: str = Field(max_length=64, unique=True)
    fingerprint: str = Field(max_length=64)
    patrol_id: int = fk("patrol.id", "CASCADE", index=False)  # indexed with recorded_at
    checkpoint_id: Optional[int] = fk("checkpoint.id", "SET NULL", nullable=True, index=False)  # indexed with the time
    method: str = Field(max_length=8)  # gps | qr
    lat: Optional[float] = None
    lon: Optional[float] = None
    accuracy_m: Optional[float] = None
    distance_m: Optional[float] = None
    recorded_at: datetime = when()  # the device's clock
    received_at: datetime = when(default=utcnow)  # the server's clock
    flags: list = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))


class PatrolPosition(SQLModel, table=True):
    """One breadcrumb point of a running patrol; a phone sends them in batches under one client_id."""
    __tablename__ = "patrol_position"
    __table_args__ = (sa.UniqueConstraint("client_id", "seq", name="uq_patrol_position_client_seq"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    client_id: str = Field(max_length=64)  # the batch's id; seq orders the points inside it
    seq: int = 0
    fingerprint: str = Field(max_length=64)  # of the whole batch, so a changed retry is a 409
    patrol_id: int = fk("patrol.id", "CASCADE")
    lat: float
    lon: float
    accuracy_m: Optional[float] = None
    recorded_at: datetime = when(index=True)  # the device's clock
    received_at: datetime = when(default=utcnow)


class MissedCheckpointAlert(SQLModel, table=True):
    """Remembers that the officers were told about a shift's missed must-visit points, so it happens once."""
    __tablename__ = "missed_checkpoint_alert"
    id: Optional[int] = Field(default=None, primary_key=True)
    task_id: int = Field(sa_column=sa.Column(sa.Integer, sa.ForeignKey("task.id", ondelete="CASCADE"), nullable=False, unique=True))
    checkpoint_ids: list = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    sent_at: datetime = when(default=utcnow)


# --- Audit --------------------------------------------------------------------------------------

class AuditEvent(SQLModel, table=True):
    """Who did what to which object, when, from where."""
    __tablename__ = "audit_event"
    id: Optional[int] = Field(default=None, primary_key=True)
    at: datetime = when(default=utcnow, index=True)
    actor_id: Optional[int] = fk("user.id", "SET NULL", nullable=True)
    action: str = Field(max_length=64)
    object_type: str = Field(max_length=32)
    object_id: Optional[int] = None
    ip: Optional[str] = Field(default=None, max_length=64)
    detail: dict = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))


# --- Hazards and clues --------------------------------------------------------------------------

class Hazard(SQLModel, table=True):
    """A hazard (隐患) or clue (线索) a volunteer reported, worked from reported to closed."""
    __table_args__ = (sa.Index("ix_hazard_grid_status", "grid_id", "status"),  # triage: my grids' open reports
                      sa.Index("ix_hazard_station_closed", "station_id", "closed_at"),  # 月考评: closed in the month
                      sa.Index("ix_hazard_grid_closed", "grid_id", "closed_at"),  # the dashboard: my grids' closings
                      sa.Index("ix_hazard_station_reported", "station_id", "reported_at"))  # one station's feed
    id: Optional[int] = Field(default=None, primary_key=True)
    client_id: str = Field(max_length=64, unique=True)
    fingerprint: str = Field(max_length=64)
    # station_id and grid_id are indexed with reported_at, closed_at and status (__table_args__)
    station_id: int = fk("station.id", "CASCADE", index=False)
    grid_id: Optional[int] = fk("grid.id", "SET NULL", nullable=True, index=False)  # None: the station's queue
    reporter_id: Optional[int] = fk("user.id", "SET NULL", nullable=True)
    kind: str = Field(max_length=8)  # hazard | clue
    category: str = Field(max_length=16)
    description: str = Field(default="", max_length=2000)
    lat: Optional[float] = None
    lon: Optional[float] = None
    accuracy_m: Optional[float] = None
    address: str = Field(default="", max_length=200)
    status: str = Field(default="reported", max_length=16, index=True)
    priority: str = Field(default="normal", max_length=8)
    deadline: Optional[datetime] = when(nullable=True)
    assignee_id: Optional[int] = fk("user.id", "SET NULL", nullable=True)
    team_id: Optional[int] = fk("team.id", "SET NULL", nullable=True)
    duplicate_of_id: Optional[int] = fk("hazard.id", "SET NULL", nullable=True)
    rectified_by_id: Optional[int] = fk("user.id", "SET NULL", nullable=True, index=False)
    mediation_outcome: Optional[str] = Field(default=None, max_length=16)  # disputes: mediated | referred | failed
    reported_at: datetime = when(default=utcnow, index=True)
    updated_at: datetime = when(default=utcnow)
    # When it was last closed (set by each closing; a reopened report keeps it until it closes again); None until
    # then. 月考评 and the dashboard count closings by it.
    closed_at: Optional[datetime] = when(nullable=True)


class HazardEvent(SQLModel, table=True):
    """One step in a hazard's history: who moved it from which state to which, when, and why."""
    __tablename__ = "hazard_event"
    id: Optional[int] = Field(default=None, primary_key=True)
    hazard_id: int = fk("hazard.id", "CASCADE")
    actor_id: Optional[int] = fk("user.id", "SET NULL", nullable=True, index=False)
    at: datetime = when(default=utcnow)
    from_status: Optional[str] = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    note: str = Field(default="", max_length=1000)
    detail: dict = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))


class HazardMessage(SQLModel, table=True):
    """One message in a report's thread: the officer's question (问上报人), the reporter's answer or update, another
    volunteer's "就是这个" (confirm), a reopen (又出现了). Attachments point at it by message_id: photos (Photo
    .message_id) and at most one voice note (VoiceNote.message_id)."""
    __tablename__ = "hazard_message"
    id: Optional[int] = Field(default=None, primary_key=True)
    client_id: Optional[str] = Field(default=None, max_length=64, unique=True)
    fingerprint: Optional[str] = Field(default=None, max_length=64)
    hazard_id: int = fk("hazard.id", "CASCADE")
    author_id: Optional[int] = fk("user.id", "SET NULL", nullable=True, index=False)
    kind: str = Field(max_length=12)  # question | answer | update | confirm | reopen | note
    text: str = Field(default="", max_length=1000)
    at: datetime = when(default=utcnow)


class Photo(SQLModel, table=True):
    """A re-encoded, EXIF-free photo stored in the data directory under a random name."""
    id: Optional[int] = Field(default=None, primary_key=True)
    hazard_id: Optional[int] = fk("hazard.id", "CASCADE", nullable=True)  # a report's photo …
    event_id: Optional[int] = fk("hazard_event.id", "SET NULL", nullable=True)  # an "after" photo of a step
    assignment_id: Optional[int] = fk("assignment.id", "CASCADE", nullable=True)  # … or a task's "done" photo
    message_id: Optional[int] = fk("hazard_message.id", "CASCADE", nullable=True)  # a photo sent in a report's thread
    stored_name: str = Field(max_length=80, unique=True)
    width: int
    height: int
    size_bytes: int
    sha256: str = Field(max_length=64)  # of the upload, so a retried report is recognised
    created_at: datetime = when(default=utcnow)


class VoiceNote(SQLModel, table=True):
    """A spoken note (≤ 60 s) with a report, a message in its thread (hazard_id and message_id) or a task's "done",
    re-muxed without tags, stored under a random name."""
    __tablename__ = "voice_note"
    id: Optional[int] = Field(default=None, primary_key=True)
    hazard_id: Optional[int] = fk("hazard.id", "CASCADE", nullable=True)  # a report's voice note …
    assignment_id: Optional[int] = fk("assignment.id", "CASCADE", nullable=True)  # … or a task's "done" one
    message_id: Optional[int] = fk("hazard_message.id", "CASCADE", nullable=True)  # … or one sent in its thread
    stored_name: str = Field(max_length=80, unique=True)  # <random hex>.<webm|ogg|m4a>
    duration_ms: int
    size_bytes: int
    sha256: str = Field(max_length=64)  # of the upload, so a retried report is recognised
    created_at: datetime = when(default=utcnow)


# --- Notifications ------------------------------------------------------------------------------

class Notification(SQLModel, table=True):
    """An in-app message; the text is a msgid plus parameters, translated when shown."""
    __table_args__ = (sa.Index("ix_notification_user_read", "user_id", "read_at"),  # the unread badge, every page
                      sa.Index("ix_notification_user_hazard", "user_id", "hazard_id"),  # grouping by report
                      sa.Index("ix_notification_sms_state", "sms_state"))  # the jobs' SMS round
    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = fk("user.id", "CASCADE")
    created_at: datetime = when(default=utcnow)
    message: str = Field(max_length=300)
    params: dict = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    link: str = Field(default="", max_length=200)
    read_at: Optional[datetime] = when(nullable=True)
    # The report it is about: changes to one report within a few minutes are grouped into one message (a thread).
    hazard_id: Optional[int] = fk("hazard.id", "CASCADE", nullable=True, index=False)
    kind: str = Field(default="other", max_length=16)  # which of a person's choices (in-app only / + SMS) applies
    sms_state: str = Field(default="", max_length=8)  # "" none | due (sent once the group is complete) | sent
    updated_at: Optional[datetime] = when(nullable=True)  # the last change grouped into it


class NotificationChoice(SQLModel, table=True):
    """Per person and kind of message: in-app only (no row, or sms False) or in-app and SMS."""
    __tablename__ = "notification_choice"
    user_id: int = Field(sa_column=sa.Column(sa.Integer, sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True))
    kind: str = Field(sa_column=sa.Column(sa.String(16), primary_key=True))
    sms: bool = Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false()))


# --- Tasks and duties ---------------------------------------------------------------------------

class Duty(SQLModel, table=True):
    """A recurring post (护学岗, a weekly night patrol) defined once as a weekly pattern; it generates tasks."""
    id: Optional[int] = Field(default=None, primary_key=True)
    station_id: int = fk("station.id", "CASCADE")
    grid_id: int = fk("grid.id", "CASCADE")
    team_id: Optional[int] = fk("team.id", "SET NULL", nullable=True)
    created_by_id: Optional[int] = fk("user.id", "SET NULL", nullable=True, index=False)
    kind: str = Field(max_length=24)
    title: str = Field(max_length=100)
    place: str = Field(default="", max_length=200)
    checkpoint_id: Optional[int] = fk("checkpoint.id", "SET NULL", nullable=True, index=False)
    weekdays: list = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))  # 0 = Monday
    windows: list = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))  # [["07:20", "08:00"], …]
    skip_dates: list = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))  # ISO dates
    first_day: date
    last_day: date
    capacity: int = Field(default=1)
    created_at: datetime = when(default=utcnow)
    client_id: Optional[str] = Field(default=None, max_length=64, unique=True)  # the form's, so a retry saves once
    fingerprint: Optional[str] = Field(default=None, max_length=64)


class Task(SQLModel, table=True):
    """One piece of work at one time: a shift, a post, a publicity round, a follow-up of a hazard."""
    __table_args__ = (sa.Index("ix_task_station_ends", "station_id", "ends_at"),  # a volunteer's open tasks
                      sa.Index("ix_task_ends", "ends_at"))  # the jobs' ended shifts, every station
    id: Optional[int] = Field(default=None, primary_key=True)
    client_id: str = Field(max_length=64, unique=True)
    fingerprint: str = Field(max_length=64)
    station_id: int = fk("station.id", "CASCADE")
    grid_id: int = fk("grid.id", "CASCADE")
    team_id: Optional[int] = fk("team.id", "SET NULL", nullable=True)
    created_by_id: Optional[int] = fk("user.id", "SET NULL", nullable=True, index=False)
    duty_id: Optional[int] = fk("duty.id", "CASCADE", nullable=True)
    hazard_id: Optional[int] = fk("hazard.id", "SET NULL", nullable=True)
    kind: str = Field(max_length=24)
    title: str = Field(max_length=100)
    notes: str = Field(default="", max_length=1000)
    place: str = Field(default="", max_length=200)
    checkpoint_id: Optional[int] = fk("checkpoint.id", "SET NULL", nullable=True, index=False)
    starts_at: datetime = when(index=True)
    ends_at: datetime = when()
    capacity: int = Field(default=1)
    created_at: datetime = when(default=utcnow)


class Assignment(SQLModel, table=True):
    """One volunteer on one task: offered → accepted | declined → done → verified | no_show."""
    __table_args__ = (sa.UniqueConstraint("task_id", "volunteer_id", name="uq_assignment_task_volunteer"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    task_id: int = fk("task.id", "CASCADE")
    volunteer_id: int = fk("user.id", "CASCADE")
    state: str = Field(default="offered", max_length=12, index=True)
    reason: str = Field(default="", max_length=300)
    reach: dict = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))  # publicity counts
    lat: Optional[float] = None
    lon: Optional[float] = None
    accuracy_m: Optional[float] = None
    distance_m: Optional[float] = None
    # "Done" with the volunteer's own word that no location could be given (无定位), rather than none sent at all.
    no_location: bool = Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false()))
    offered_at: datetime = when(default=utcnow)
    answered_at: Optional[datetime] = when(nullable=True)
    done_at: Optional[datetime] = when(nullable=True)
    verified_at: Optional[datetime] = when(nullable=True)
    verified_by_id: Optional[int] = fk("user.id", "SET NULL", nullable=True, index=False)


# --- Service hours, certification, certificates, honours -----------------------------------------

class ServiceRecord(SQLModel, table=True):
    """One line of the hours ledger: pending → approved | rejected. Approved rows are never edited;
    a correction is a new row that points at the one it corrects (corrects_id)."""
    __tablename__ = "service_record"
    __table_args__ = (sa.Index("ix_service_record_volunteer_starts", "volunteer_id", "starts_at"),  # my hours
                      sa.Index("ix_service_record_station_starts", "station_id", "starts_at"),  # a station's month
                      sa.Index("ix_service_record_volunteer_ends", "volunteer_id", "ends_at"),  # the overlap check
                      sa.Index("ix_service_record_grid_month", "grid_id", "month"))  # the dashboard: my grids' month
    id: Optional[int] = Field(default=None, primary_key=True)
    station_id: int = fk("station.id", "CASCADE")
    volunteer_id: int = fk("user.id", "CASCADE")
    grid_id: Optional[int] = fk("grid.id", "SET NULL", nullable=True, index=False)  # whose officers approve it
    source: str = Field(max_length=12)  # patrol | assignment | manual | correction
    # Manual entries and corrections come from a form: its id makes a retry save once (derived rows have none).
    client_id: Optional[str] = Field(default=None, max_length=64, unique=True)
    fingerprint: Optional[str] = Field(default=None, max_length=64)
    patrol_id: Optional[int] = Field(default=None, sa_column=sa.Column(
        sa.Integer, sa.ForeignKey("patrol.id", ondelete="SET NULL"), nullable=True, unique=True))
    assignment_id: Optional[int] = Field(default=None, sa_column=sa.Column(
        sa.Integer, sa.ForeignKey("assignment.id", ondelete="SET NULL"), nullable=True, unique=True))
    corrects_id: Optional[int] = fk("service_record.id", "SET NULL", nullable=True)
    starts_at: datetime = when(index=True)
    ends_at: datetime = when()
    month: str = Field(max_length=7, index=True)  # YYYY-MM of starts_at in Asia/Shanghai, for locking and tallies
    minutes: int  # counted minutes (after the cap and overlap rules; may be negative on a correction)
    status: str = Field(default="pending", max_length=10, index=True)
    flags: list = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    reason: str = Field(default="", max_length=300)  # why a manual entry or correction exists
    rejection_reason: str = Field(default="", max_length=300)
    created_by_id: Optional[int] = fk("user.id", "SET NULL", nullable=True, index=False)
    created_at: datetime = when(default=utcnow)
    decided_by_id: Optional[int] = fk("user.id", "SET NULL", nullable=True, index=False)
    decided_at: Optional[datetime] = when(nullable=True)


class MonthCertification(SQLModel, table=True):
    """A station's month, certified by a coordinator; its service records are locked from then on."""
    __tablename__ = "month_certification"
    __table_args__ = (sa.UniqueConstraint("station_id", "month", name="uq_month_certification_station_month"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    station_id: int = fk("station.id", "CASCADE")
    month: str = Field(max_length=7)  # YYYY-MM
    certified_by_id: Optional[int] = fk("user.id", "SET NULL", nullable=True, index=False)
    certified_at: datetime = when(default=utcnow)


class Certificate(SQLModel, table=True):
    """A numbered service certificate (志愿服务证明): published for a notice period (公示期), then issued."""
    id: Optional[int] = Field(default=None, primary_key=True)
    station_id: int = fk("station.id", "CASCADE")
    number: str = Field(max_length=32, unique=True)
    volunteer_id: int = fk("user.id", "CASCADE")
    period_from: date
    period_to: date
    minutes: int  # approved minutes in the period when it was published
    status: str = Field(default="notice", max_length=10)  # notice | issued | withdrawn
    issuer: str = Field(max_length=100)  # the issuing body's name as printed
    issued_by_id: Optional[int] = fk("user.id", "SET NULL", nullable=True, index=False)
    published_at: datetime = when(default=utcnow)
    notice_until: datetime = when()
    issued_at: Optional[datetime] = when(nullable=True)


class CertificateObjection(SQLModel, table=True):
    """An objection raised during a certificate's notice period."""
    __tablename__ = "certificate_objection"
    id: Optional[int] = Field(default=None, primary_key=True)
    certificate_id: int = fk("certificate.id", "CASCADE")
    text: str = Field(max_length=1000)
    raised_by: str = Field(default="", max_length=100)
    recorded_by_id: Optional[int] = fk("user.id", "SET NULL", nullable=True, index=False)
    at: datetime = when(default=utcnow)
    resolution: str = Field(default="", max_length=300)


class Commendation(SQLModel, table=True):
    """An honour (锦旗, 表彰) given to a volunteer or a team."""
    id: Optional[int] = Field(default=None, primary_key=True)
    station_id: int = fk("station.id", "CASCADE")
    volunteer_id: Optional[int] = fk("user.id", "CASCADE", nullable=True)
    team_id: Optional[int] = fk("team.id", "CASCADE", nullable=True)
    kind: str = Field(max_length=16)  # banner (锦旗) | commendation (表彰) | other
    title: str = Field(max_length=200)
    given_by: str = Field(default="", max_length=100)
    awarded_on: date
    note: str = Field(default="", max_length=500)
    recorded_by_id: Optional[int] = fk("user.id", "SET NULL", nullable=True, index=False)
    created_at: datetime = when(default=utcnow)


# --- The values a state or kind column may hold -------------------------------------------------
# CHECK constraints (migration 0013), so a typo in a new code path fails at the database, not in a report months
# later. The domain modules name the same values (hazards.STATES, tasks.KINDS …); tests/test_migrations.py holds
# the two together. A new value needs a migration.
CHECKS: dict[tuple[str, str], tuple[str, ...]] = {
    ("user", "role"): ROLES,
    ("user", "status"): STATUSES,
    ("hazard", "kind"): ("hazard", "clue"),
    ("hazard", "category"): ("fire", "gas_electric", "traffic", "public_order", "dispute", "suspicious", "other"),
    ("hazard", "status"): ("reported", "accepted", "assigned", "rectifying", "rectified", "closed", "rejected",
                           "duplicate"),
    ("hazard", "priority"): ("low", "normal", "high", "urgent"),
    ("task", "kind"): ("patrol", "school_gate", "publicity", "event_security", "home_visit", "hazard_followup"),
    ("assignment", "state"): ("offered", "accepted", "declined", "done", "verified", "no_show"),
    ("service_record", "status"): ("pending", "approved", "rejected"),
    ("service_record", "source"): ("patrol", "assignment", "manual", "correction"),
    ("checkin", "method"): ("gps", "qr"),
    ("certificate", "status"): ("notice", "issued", "withdrawn"),
}
for (_table, _column), _values in CHECKS.items():
    SQLModel.metadata.tables[_table].append_constraint(sa.CheckConstraint(
        sa.column(_column).in_(_values), name=_column))
