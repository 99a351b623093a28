"""Importing a volunteer roster from an XLSX sheet, with a row-by-row report, and the blank template to fill in.

Columns 姓名, 手机号, 网格, 队伍 (or name, phone, grid, team). Every row is checked in full before anything is saved;
a rejected row saves nothing, an accepted one becomes a *pending* volunteer (see docs/decisions.md) with a random
password nobody knows, whom the coordinator activates.
"""
from __future__ import annotations

import io
import re
import secrets
import zipfile
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from volunteers import accounts, audit, db, roles
from volunteers.errors import Invalid, N_
from volunteers.models import Grid, Team, TeamMember, User

MAX_BYTES = 2 * 1024 * 1024
MANAGERS_ONLY = N_("Only the station's coordinator can import a roster.")
MAX_ROWS = 5000
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
COLUMNS = ("name", "phone", "grid", "team")
HEADERS = {"name": ("姓名", "name"), "phone": ("手机号", "手机", "手机号码", "phone", "mobile"),
           "grid": ("网格", "grid"), "team": ("队伍", "team")}
CHINESE_HEADERS = ("姓名", "手机号", "网格", "队伍")
TEAM_SEPARATORS = re.compile(r"[、,，;；/]")


@dataclass
class RowReport:
    """One data row: its sheet row number, what it said, and either accepted or the reasons it was not."""
    row: int
    name: str
    phone: str
    grid: str
    team: str
    reasons: list[tuple[str, dict]] = field(default_factory=list)  # (untranslated message, its parameters)
    user_id: int | None = None

    @property
    def accepted(self) -> bool:
        return not self.reasons


@dataclass
class Report:
    rows: list[RowReport]

    @property
    def accepted(self) -> list[RowReport]:
        return [r for r in self.rows if r.accepted]

    @property
    def rejected(self) -> list[RowReport]:
        return [r for r in self.rows if not r.accepted]


# --- Reading the file ---------------------------------------------------------------------------------------

def _cell(value: Any) -> str:
    """A cell as text; a phone number typed as a number (13800000201 or 1.38e10) keeps its digits."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read_rows(data: bytes, *, max_bytes: int = MAX_BYTES) -> list[tuple[int, dict[str, str]]]:
    """The data rows of the first sheet as (sheet row number, {name, phone, grid, team}); too large is 413, anything
    that is not an XLSX workbook with a 姓名 and a 手机号 column is 422."""
    import openpyxl

    if len(data) > max_bytes:
        raise Invalid("too_large", N_("The file is too large (at most %(limit)d MB)."), status=413,
                      limit=max_bytes // (1024 * 1024) or 1)
    if not data.startswith(b"PK\x03\x04"):
        raise Invalid("not_xlsx", N_("This is not an Excel (.xlsx) file. Please save the sheet as .xlsx and try again."))
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError):
        raise Invalid("not_xlsx", N_("This is not an Excel (.xlsx) file. Please save the sheet as .xlsx and try again.")) from None
    try:
        sheet = book.worksheets[0]
        lines = sheet.iter_rows(values_only=True)
        header = next(lines, None) or ()
        where: dict[str, int] = {}
        for index, title in enumerate(header):
            title = _cell(title).lower().replace(" ", "")
            for column, names in HEADERS.items():
                if title in names and column not in where:
                    where[column] = index
        missing = [CHINESE_HEADERS[COLUMNS.index(c)] for c in ("name", "phone") if c not in where]
        if missing:
            raise Invalid("bad_header", N_("The first row must name the columns 姓名, 手机号, 网格, 队伍 "
                                           "(missing: %(missing)s)."), missing="、".join(missing))
        rows = []
        for number, values in enumerate(lines, start=2):
            cells = {c: _cell(values[i]) if i < len(values) else "" for c, i in where.items()}
            if not any(cells.values()):
                continue  # a blank line in the sheet is not a volunteer
            if len(rows) >= MAX_ROWS:
                raise Invalid("too_many_rows", N_("A roster may have at most %(limit)d rows; split the file."),
                              status=413, limit=MAX_ROWS)
            rows.append((number, {c: cells.get(c, "") for c in COLUMNS}))
        return rows
    finally:
        book.close()


# --- Checking and saving ---------------------------------------------------------------------------------

def _lookup(session: Session, station_id: int) -> tuple[dict[str, int], dict[str, int]]:
    """Grids by code and by name, teams by name (case-insensitive), of this station only."""
    grids: dict[str, int] = {}
    for grid in session.exec(select(Grid).where(Grid.station_id == station_id)):
        grids.setdefault(grid.code.lower(), grid.id)
        grids.setdefault(grid.name.lower(), grid.id)
    teams = {t.name.lower(): t.id for t in session.exec(select(Team).where(Team.station_id == station_id))}
    return grids, teams


def check(session: Session, station_id: int, rows: list[tuple[int, dict[str, str]]]) -> list[tuple[RowReport, int | None, list[int]]]:
    """Every rule for every row, before anything is saved: a name, a mainland mobile number not in the file twice nor
    already registered, a known grid, known teams. A query per 500 phone numbers."""
    grids, teams = _lookup(session, station_id)
    phones = [accounts.normalise_phone(cells["phone"]) for _, cells in rows]
    wanted = sorted({p for p in phones if p})
    taken: set[str] = set()
    for start in range(0, len(wanted), 500):  # bounded IN lists: SQLite caps bound parameters
        taken.update(session.exec(select(User.phone).where(User.phone.in_(wanted[start:start + 500]))))
    seen: dict[str, int] = {}
    checked = []
    for (number, cells), phone in zip(rows, phones):
        report = RowReport(number, cells["name"][:50], phone or cells["phone"][:20], cells["grid"][:100],
                           cells["team"][:200])
        if not cells["name"]:
            report.reasons.append((N_("The name is empty."), {}))
        elif len(cells["name"]) > 50:
            report.reasons.append((N_("The name is longer than %(limit)d characters."), {"limit": 50}))
        if not MOBILE_RE.match(phone):
            report.reasons.append((N_("“%(phone)s” is not a mainland mobile number (11 digits starting with 1)."),
                                   {"phone": cells["phone"][:20] or "—"}))
        elif phone in seen:
            report.reasons.append((N_("The phone number is already in row %(row)d of this file."), {"row": seen[phone]}))
        elif phone in taken:
            report.reasons.append((N_("Someone with this phone number is already registered."), {}))
        else:
            seen[phone] = number
        grid_id = grids.get(cells["grid"].lower()) if cells["grid"] else None
        if not cells["grid"]:
            report.reasons.append((N_("The grid is empty."), {}))
        elif grid_id is None:
            report.reasons.append((N_("There is no grid “%(grid)s” at this station."), {"grid": cells["grid"][:100]}))
        team_ids = []
        for name in (n.strip() for n in TEAM_SEPARATORS.split(cells["team"]) if n.strip()):
            if name.lower() in teams:
                team_ids.append(teams[name.lower()])
            else:
                report.reasons.append((N_("There is no team “%(team)s” at this station."), {"team": name[:100]}))
        checked.append((report, grid_id, sorted(set(team_ids))))
    return checked


def import_roster(session: Session, *, user: User, data: bytes, max_bytes: int = MAX_BYTES,
                  ip: str | None = None) -> Report:
    """Import a roster sheet: each row that passes every rule becomes a pending volunteer of its grid and teams; each
    other row is reported with all its reasons and saves nothing. One audit event per person, one for the import."""
    roles.require_manager(user, MANAGERS_ONLY)
    rows = read_rows(data, max_bytes=max_bytes)
    if not rows:
        raise Invalid("empty_roster", N_("The sheet has no volunteers under its header row."))
    checked = check(session, user.station_id, rows)
    # Nobody knows this password: the account is pending and gets a real one when it is activated. One hash for the
    # whole import, since scrypt per row would make a 3,000-name roster take minutes.
    unusable = accounts.hash_password(secrets.token_urlsafe(24))
    for report, grid_id, team_ids in checked:
        if not report.accepted:
            continue
        try:
            with db.savepoint(session):  # a phone registered a moment ago by someone else rejects only this row
                person = User(station_id=user.station_id, phone=report.phone, name=report.name,
                              password_hash=unusable, role="volunteer",
                              status="pending", home_grid_id=grid_id)
                session.add(person)
                session.flush()
                for team_id in team_ids:
                    session.add(TeamMember(team_id=team_id, user_id=person.id))
                session.flush()
        except sa.exc.IntegrityError as err:
            if not db.is_unique_violation(err):
                raise
            report.reasons.append((N_("Someone with this phone number is already registered."), {}))
            continue
        report.user_id = person.id
        audit.record(session, actor_id=user.id, action="user.import", obj=person, ip=ip, row=report.row)
    result = Report([r for r, _g, _t in checked])
    audit.record(session, actor_id=user.id, action="roster.import", ip=ip, accepted=len(result.accepted),
                 rejected=len(result.rejected))
    session.commit()
    return result


# --- The blank template ------------------------------------------------------------------------------------

def template_xlsx(session: Session, *, user: User) -> bytes:
    """A workbook to fill in: the header row 姓名 手机号 网格 队伍, and a second sheet listing this station's grids and
    teams as they must be written."""
    import openpyxl
    from openpyxl.styles import Font

    roles.require_manager(user, MANAGERS_ONLY)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "名册"
    sheet.append(list(CHINESE_HEADERS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCD", (12, 16, 12, 24)):
        sheet.column_dimensions[letter].width = width
    sheet.column_dimensions["B"].number_format = "@"  # phone numbers as text, so Excel keeps every digit
    help_sheet = book.create_sheet("说明")
    help_sheet.append(["每行一名志愿者；手机号为11位大陆手机号；网格填编号或名称；队伍可填多个，用顿号分隔，可不填。"])
    help_sheet.append([])
    help_sheet.append(["网格编号", "网格名称"])
    for grid in session.exec(select(Grid).where(Grid.station_id == user.station_id).order_by(Grid.code)):
        help_sheet.append([grid.code, grid.name])
    help_sheet.append([])
    help_sheet.append(["队伍名称"])
    for team in session.exec(select(Team).where(Team.station_id == user.station_id).order_by(Team.name)):
        help_sheet.append([team.name])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
