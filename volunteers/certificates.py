"""Service certificates (志愿服务证明): published for a notice period (公示期), objections, issue, withdrawal,
the PDF, and the public check of a certificate number.

Lifecycle: notice → issued | withdrawn, and issued → withdrawn. A certificate's number is never reused: rows are
never deleted, a withdrawn certificate keeps its number and says so on the public page.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from volunteers import audit, db, fields, hours, roles
from volunteers.errors import Conflict, DomainError, Invalid, N_, NotFound
from volunteers.models import AuditEvent, Certificate, CertificateObjection, Station, User, utcnow
from volunteers.localtime import SHANGHAI, local_day  # noqa: F401 (tests read certificates.SHANGHAI)

PREFIX = "PAV"
NUMBER_RE = re.compile(r"^PAV-\d{4}-\d{6}$")
STATUS_LABELS = {"notice": N_("In public notice"), "issued": N_("Issued"), "withdrawn": N_("Withdrawn")}
DEFAULT_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
FONT_SIMPLIFIED_CHINESE = 2  # the face of Noto Sans CJK's collection drawn for Simplified Chinese


class FontMissing(DomainError):
    """The configured CJK font file is not there: a setup problem, not the caller's fault."""
    status = 503

    def __init__(self, path: str):
        super().__init__("font_missing", N_("The Chinese font for PDFs (certificates, posters) %(path)s is "
                                            "missing. Install the Debian package fonts-noto-cjk or set CJK_FONT to a "
                                            "Noto Sans CJK file."), path=path)


# --- Small rules --------------------------------------------------------------------------------------

def mask_name(name: str) -> str:
    """张*三: keep the first and last character, mask the middle; a two-character name is 张*."""
    name = (name or "").strip()
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def hours_text(minutes: int) -> str:
    """Minutes as hours with one decimal, rounded half up (100 min → 1.7)."""
    return str((Decimal(minutes) / 60).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def chinese_date(day: date) -> str:
    """2026年1月5日."""
    return f"{day.year}年{day.month}月{day.day}日"


def approved_minutes(session: Session, *, station_id: int, volunteer_id: int, period_from: date,
                     period_to: date) -> int:
    """Approved minutes of one volunteer whose records start on a day of the period (both ends included, Asia/Shanghai
    days); corrections are approved rows too and count with their sign. The ledger's one-aggregate tally."""
    rows = hours.tally(session, station_id, period_from, period_to, "volunteer", volunteer_id=volunteer_id)
    return rows[0].approved_minutes if rows else 0


# --- Who may see what -----------------------------------------------------------------------------------

def _certificate(session: Session, certificate_id: int | None) -> Certificate:
    cert = db.get(session, Certificate, certificate_id)
    if cert is None:
        raise NotFound(N_("This certificate does not exist."))
    return cert


def visible(session: Session, user: User, certificate_id: int | None) -> Certificate:
    """The station's coordinators see every certificate; a volunteer sees their own; anyone else gets 404."""
    cert = _certificate(session, certificate_id)
    if cert.station_id == user.station_id and (user.is_manager or cert.volunteer_id == user.id):
        return cert
    raise NotFound(N_("This certificate does not exist."))


def managed(session: Session, user: User, certificate_id: int | None) -> Certificate:
    """A certificate the user may change: only the station's coordinators (a volunteer gets 403, others 404)."""
    cert = visible(session, user, certificate_id)
    roles.require_manager(user, N_("Only the station's coordinator can do this with a certificate."))
    return cert


def in_notice(session: Session, user: User, certificate_id: int | None) -> Certificate:
    """A certificate of the user's station that is in public notice (any member may object to it); else 404."""
    cert = _certificate(session, certificate_id)
    if cert.station_id != user.station_id or (cert.status != "notice" and not user.is_manager):
        raise NotFound(N_("This certificate does not exist."))
    return cert


# --- Lists --------------------------------------------------------------------------------------------------

@dataclass
class Row:
    """A certificate with its volunteer's name and how many objections are still open."""
    cert: Certificate
    name: str
    open_objections: int
    objections: int


def _rows(session: Session, *conditions, order) -> list[Row]:
    open_count = sa.func.coalesce(sa.func.sum(sa.case((CertificateObjection.resolution == "", 1), else_=0)), 0)
    rows = session.exec(
        select(Certificate, User.name, open_count, sa.func.count(CertificateObjection.id))
        .join(User, User.id == Certificate.volunteer_id)
        .outerjoin(CertificateObjection, CertificateObjection.certificate_id == Certificate.id)
        .where(*conditions).group_by(Certificate.id, User.name).order_by(*order)
    ).all()
    return [Row(cert, name, int(open_), int(total)) for cert, name, open_, total in rows]


def for_station(session: Session, user: User) -> list[Row]:
    """Every certificate of the coordinator's station, newest first."""
    roles.require_manager(user, N_("Only the station's coordinator can do this with a certificate."))
    return _rows(session, Certificate.station_id == user.station_id,
                 order=(Certificate.published_at.desc(), Certificate.id.desc()))


def for_volunteer(session: Session, user: User) -> list[Row]:
    """A volunteer's own certificates, newest first."""
    return _rows(session, Certificate.volunteer_id == user.id,
                 order=(Certificate.published_at.desc(), Certificate.id.desc()))


def notice_list(session: Session, user: User) -> list[Row]:
    """The station's certificates in public notice (公示), the ones whose notice ends soonest first."""
    return _rows(session, Certificate.station_id == user.station_id, Certificate.status == "notice",
                 order=(Certificate.notice_until, Certificate.id))


def objections_of(session: Session, certificate_id: int) -> list[CertificateObjection]:
    """A certificate's objections, oldest first."""
    return list(session.exec(select(CertificateObjection).where(CertificateObjection.certificate_id == certificate_id)
                             .order_by(CertificateObjection.at, CertificateObjection.id)))


def withdrawal_reason(session: Session, cert: Certificate) -> str:
    """Why a withdrawn certificate was withdrawn (kept in its audit event)."""
    event = session.exec(select(AuditEvent).where(AuditEvent.object_type == "certificate",
                                                  AuditEvent.object_id == cert.id,
                                                  AuditEvent.action == "certificate.withdraw")
                         .order_by(AuditEvent.id.desc())).first()
    return (event.detail or {}).get("reason", "") if event else ""


def volunteer_choices(session: Session, user: User) -> list[User]:
    """The station's volunteers a certificate may be made out to, by name."""
    return list(session.exec(select(User).where(User.station_id == user.station_id, User.role == "volunteer")
                             .order_by(User.name, User.id)))


# --- Publishing ---------------------------------------------------------------------------------------------

def _date(data: dict[str, Any], field: str) -> date:
    raw = data.get(field)
    if raw in (None, ""):
        raise Invalid("missing_field", N_("The field “%(field)s” is required."), status=400, field=field)
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        raise Invalid("bad_date", N_("“%(value)s” is not a date like 2026-01-31."), value=str(raw)[:20]) from None


def next_number(session: Session, year: int) -> str:
    """The next free number of the year, PAV-2026-000123; numbers only grow, so none is ever given twice."""
    prefix = f"{PREFIX}-{year}-"
    last = session.exec(select(sa.func.max(Certificate.number)).where(Certificate.number.like(prefix + "%"))).one()
    seq = int(last[len(prefix):]) + 1 if last else 1
    return f"{prefix}{seq:06d}"


def publish(session: Session, *, user: User, data: dict[str, Any], notice_days: int = 7, now: datetime | None = None,
            ip: str | None = None) -> Certificate:
    """Publish a certificate for one volunteer and a period: its approved minutes are fixed now, and it stays in public
    notice for `notice_days` days before it can be issued. One live certificate per volunteer and period."""
    roles.require_manager(user, N_("Only the station's coordinator can do this with a certificate."))
    now = now or utcnow()
    try:
        volunteer_id = int(data.get("volunteer_id") or 0)
    except (TypeError, ValueError):
        raise Invalid("bad_number", N_("The field “%(field)s” must be a number."), status=400,
                      field="volunteer_id") from None
    volunteer = db.get(session, User, volunteer_id)
    if volunteer is None or volunteer.station_id != user.station_id or volunteer.role != "volunteer":
        raise Invalid("unknown_volunteer", N_("Please choose a volunteer of this station."))
    period_from, period_to = _date(data, "period_from"), _date(data, "period_to")
    if period_to < period_from:
        raise Invalid("bad_period", N_("The period must end on or after the day it starts."))
    if period_to > local_day(now):
        raise Invalid("future_period", N_("The period must be over: it cannot end after today."))
    station = session.get(Station, user.station_id)
    issuer = fields.text(data, "issuer", 100) or station.name
    clash = session.exec(select(Certificate.number).where(
        Certificate.volunteer_id == volunteer.id, Certificate.period_from == period_from,
        Certificate.period_to == period_to, Certificate.status != "withdrawn")).first()
    if clash:
        raise Conflict("duplicate_certificate", N_("%(name)s already has certificate %(number)s for this period."),
                       name=volunteer.name, number=clash)
    minutes = approved_minutes(session, station_id=user.station_id, volunteer_id=volunteer.id,
                               period_from=period_from, period_to=period_to)
    if minutes <= 0:
        raise Invalid("no_hours", N_("%(name)s has no approved service hours in this period."), name=volunteer.name)
    for _attempt in range(5):
        cert = Certificate(station_id=user.station_id, number=next_number(session, local_day(now).year),
                           volunteer_id=volunteer.id, period_from=period_from, period_to=period_to, minutes=minutes,
                           status="notice", issuer=issuer, published_at=now,
                           notice_until=now + timedelta(days=notice_days))
        try:
            with db.savepoint(session):  # two coordinators at once: the loser takes the next number
                session.add(cert)
                session.flush()
            break
        except sa.exc.IntegrityError as err:
            if not db.is_unique_violation(err):
                raise
            continue
    else:
        raise Conflict("busy", N_("Please try again: another certificate was being numbered at the same moment."))
    audit.record(session, actor_id=user.id, action="certificate.publish", obj=cert, ip=ip, number=cert.number,
                 minutes=minutes)
    session.commit()
    return cert


# --- Objections ---------------------------------------------------------------------------------------------

def object_to(session: Session, *, user: User, certificate_id: int | None, data: dict[str, Any],
              ip: str | None = None) -> CertificateObjection:
    """Record an objection while the certificate is in notice: any member of the station may raise one; a coordinator
    may also write down one brought by someone else (raised_by)."""
    cert = in_notice(session, user, certificate_id)
    if cert.status != "notice":
        raise Conflict("not_in_notice", N_("Objections can only be raised while the certificate is in public notice."))
    text = fields.text(data, "text", 1000, required=True)
    raised_by = fields.text(data, "raised_by", 100) if user.is_manager else ""
    objection = CertificateObjection(certificate_id=cert.id, text=text, raised_by=raised_by or user.name,
                                     recorded_by_id=user.id)
    session.add(objection)
    session.flush()
    audit.record(session, actor_id=user.id, action="certificate.object", obj=cert, ip=ip, objection_id=objection.id)
    session.commit()
    return objection


def resolve(session: Session, *, user: User, objection_id: int | None, data: dict[str, Any],
            ip: str | None = None) -> CertificateObjection:
    """The coordinator resolves an objection with a written answer; resolving it again with the same answer is a
    harmless retry, with another answer a 409."""
    objection = db.get(session, CertificateObjection, objection_id)
    if objection is None:
        raise NotFound(N_("This objection does not exist."))
    cert = managed(session, user, objection.certificate_id)
    resolution = fields.text(data, "resolution", 300, required=True)
    if objection.resolution:
        if objection.resolution == resolution:
            return objection
        raise Conflict("already_resolved", N_("This objection was already resolved."))
    if cert.status == "withdrawn":
        raise Conflict("withdrawn", N_("This certificate was withdrawn."))
    objection.resolution = resolution
    session.add(objection)
    audit.record(session, actor_id=user.id, action="certificate.resolve", obj=cert, ip=ip, objection_id=objection.id,
                 resolution=resolution)
    session.commit()
    return objection


# --- Issuing and withdrawing -------------------------------------------------------------------------------

def issue(session: Session, *, user: User, certificate_id: int | None, now: datetime | None = None,
          ip: str | None = None) -> Certificate:
    """Issue a certificate once its notice period is over and every objection is resolved (else 409); issuing an
    issued one again is a harmless retry."""
    cert = managed(session, user, certificate_id)
    now = now or utcnow()
    if cert.status == "issued":
        return cert
    if cert.status == "withdrawn":
        raise Conflict("withdrawn", N_("This certificate was withdrawn."))
    if now < cert.notice_until:
        raise Conflict("in_notice", N_("The public notice runs until %(day)s; the certificate can be issued after "
                                       "that."), day=chinese_date(local_day(cert.notice_until)))
    open_objections = session.exec(select(sa.func.count()).select_from(CertificateObjection).where(
        CertificateObjection.certificate_id == cert.id, CertificateObjection.resolution == "")).one()
    if open_objections:
        raise Conflict("open_objection", N_("%(count)d objection(s) are not resolved yet; resolve them first."),
                       count=open_objections)
    cert.status, cert.issued_at, cert.issued_by_id = "issued", now, user.id
    session.add(cert)
    audit.record(session, actor_id=user.id, action="certificate.issue", obj=cert, ip=ip, number=cert.number)
    session.commit()
    return cert


def withdraw(session: Session, *, user: User, certificate_id: int | None, data: dict[str, Any],
             ip: str | None = None) -> Certificate:
    """Withdraw a certificate in notice or issued, with a reason; its number stays taken and shows as withdrawn."""
    cert = managed(session, user, certificate_id)
    reason = fields.text(data, "reason", 300, required=True)
    if cert.status == "withdrawn":
        raise Conflict("withdrawn", N_("This certificate was withdrawn."))
    previous, cert.status = cert.status, "withdrawn"
    session.add(cert)
    audit.record(session, actor_id=user.id, action="certificate.withdraw", obj=cert, ip=ip, reason=reason,
                 previous=previous)
    session.commit()
    return cert


# --- The public check -------------------------------------------------------------------------------------

def normalise_number(number: str) -> str:
    """What a person typed or scanned, as a certificate number: trimmed, upper case, full-width dashes folded."""
    return re.sub(r"\s+", "", (number or "")).upper().replace("－", "-").replace("—", "-")[:40]


@dataclass
class Verification:
    """All that the public may learn from a certificate number — and nothing else."""
    number: str
    masked_name: str
    hours: str
    period_from: date
    period_to: date
    issuer: str
    status: str


def verify(session: Session, number: str) -> Verification:
    """The public facts of a certificate by its exact number; an unknown number is 404."""
    number = normalise_number(number)
    row = None
    if NUMBER_RE.match(number):
        row = session.exec(select(Certificate, User.name).join(User, User.id == Certificate.volunteer_id)
                           .where(Certificate.number == number)).first()
    if row is None:
        raise NotFound(N_("No certificate has the number %(number)s. Check the number and try again."),
                       number=number or "—")
    cert, name = row
    return Verification(number=cert.number, masked_name=mask_name(name), hours=hours_text(cert.minutes),
                        period_from=cert.period_from, period_to=cert.period_to, issuer=cert.issuer, status=cert.status)


# --- The PDF --------------------------------------------------------------------------------------------------

def pdf_for(session: Session, *, user: User, certificate_id: int | None) -> tuple[Certificate, str]:
    """An issued certificate the user may download (its coordinators, its volunteer) and the full name to print."""
    cert = visible(session, user, certificate_id)
    if cert.status != "issued":
        raise Conflict("not_issued", N_("The PDF is available once the certificate is issued."))
    return cert, session.get(User, cert.volunteer_id).name


def render_pdf(cert: Certificate, *, name: str, verify_url: str, font_path: str = DEFAULT_FONT) -> bytes:
    """The A4 certificate: title 志愿服务证明, full name, hours with one decimal, period, issuer, number, issue date, and
    a QR code of the public verify URL. The document itself is Chinese whatever the viewer's language."""
    import segno
    from fpdf import FPDF

    if not Path(font_path).is_file():
        raise FontMissing(font_path)
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_title(f"志愿服务证明 {cert.number}")
    pdf.set_author(cert.issuer)
    pdf.set_auto_page_break(False)
    kwargs = {"collection_font_number": FONT_SIMPLIFIED_CHINESE} if font_path.endswith(".ttc") else {}
    pdf.add_font("noto", fname=font_path, **kwargs)
    pdf.add_page()
    pdf.set_draw_color(183, 28, 28)
    pdf.set_line_width(1.2)
    pdf.rect(12, 12, 186, 273)
    pdf.set_line_width(0.3)
    pdf.rect(15, 15, 180, 267)
    pdf.set_font("noto", size=11)
    pdf.set_xy(20, 22)
    pdf.cell(170, 8, f"编号：{cert.number}", align="R")
    pdf.set_font("noto", size=30)
    pdf.set_text_color(183, 28, 28)
    pdf.set_xy(20, 48)
    pdf.cell(170, 18, "志愿服务证明", align="C")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("noto", size=15)
    pdf.set_xy(30, 85)
    body = (f"兹证明 {name} 同志于 {chinese_date(cert.period_from)} 至 {chinese_date(cert.period_to)} 期间"
            f"参加平安志愿服务，经审核累计服务时长 {hours_text(cert.minutes)} 小时。")
    pdf.multi_cell(150, 11, body, align="L")
    pdf.set_x(30)
    pdf.multi_cell(150, 11, "特此证明。", align="L")
    pdf.set_font("noto", size=14)
    issued_on = local_day(cert.issued_at) if cert.issued_at else local_day(utcnow())
    pdf.set_xy(90, 185)
    pdf.cell(95, 10, f"出具单位：{cert.issuer}", align="R")
    pdf.set_xy(90, 197)
    pdf.cell(95, 10, f"出具日期：{chinese_date(issued_on)}", align="R")
    qr = segno.make(verify_url, error="m")
    image = io.BytesIO()
    qr.save(image, kind="png", scale=8, border=4)
    image.seek(0)
    pdf.image(image, x=25, y=215, w=45, h=45)
    pdf.set_font("noto", size=10)
    pdf.set_xy(75, 228)
    pdf.multi_cell(110, 6, f"扫描二维码或访问以下网址核验本证明：\n{verify_url}", align="L")
    return bytes(pdf.output())
