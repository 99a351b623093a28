"""Roster import: a real XLSX built with openpyxl; good rows become pending volunteers of their grid and teams, each
kind of bad row is reported with its reason and saves nothing; files that are not XLSX or too large are refused."""
from __future__ import annotations

import io

import openpyxl
import pytest
from sqlmodel import func, select

from tests.conftest import COORDINATOR, OFFICER_G12, VOLUNTEER
from volunteers import roster
from volunteers.errors import Forbidden, Invalid
from volunteers.models import AuditEvent, Team, TeamMember, User


def xlsx(rows: list[list], header=("姓名", "手机号", "网格", "队伍")) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


GOOD = [["赵新人", "13900001001", "G1", "义警队"],
        ["钱新人", 13900001002, "G2", ""],  # typed as a number by Excel
        ["孙新人", "+86 139-0000-1003", "G3", "义警队、护学岗队"]]
BAD = [["", "13900001004", "G1", ""],  # empty name
       ["李无号", "1390000100", "G1", ""],  # ten digits
       ["周固话", "02188886666", "G1", ""],  # a landline
       ["吴重复", "13900001001", "G1", ""],  # the same phone as row 2
       ["郑老号", "13800000201", "G1", ""],  # already registered (demo volunteer)
       ["王无格", "13900001009", "G9", ""],  # no such grid
       ["冯无队", "13900001010", "G1", "舞蹈队"],  # no such team
       ["陈空格", "13900001011", "", ""]]  # no grid


def users(session) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(User)).one()


def test_good_rows_are_accepted_and_each_kind_of_bad_row_is_rejected_with_its_reason(session, town):
    before = users(session)
    report = roster.import_roster(session, user=town.user(COORDINATOR), data=xlsx(GOOD + BAD))
    assert [r.row for r in report.accepted] == [2, 3, 4]
    reasons = {r.row: [message % params for message, params in r.reasons] for r in report.rejected}
    assert reasons == {
        5: ["The name is empty."],
        6: ["“1390000100” is not a mainland mobile number (11 digits starting with 1)."],
        7: ["“02188886666” is not a mainland mobile number (11 digits starting with 1)."],
        8: ["The phone number is already in row 2 of this file."],
        9: ["Someone with this phone number is already registered."],
        10: ["There is no grid “G9” at this station."],
        11: ["There is no team “舞蹈队” at this station."],
        12: ["The grid is empty."],
    }
    assert users(session) == before + 3
    for phone in ("13900001004", "1390000100", "13900001009", "13900001010", "13900001011"):
        assert session.exec(select(User).where(User.phone == phone)).first() is None


def test_accepted_people_are_pending_volunteers_of_their_grid_and_teams(session, town):
    roster.import_roster(session, user=town.user(COORDINATOR), data=xlsx(GOOD))
    sun = session.exec(select(User).where(User.phone == "13900001003")).one()
    assert (sun.name, sun.role, sun.status, sun.home_grid_id) == ("孙新人", "volunteer", "pending", town.grid("G3").id)
    teams = session.exec(select(Team.name).join(TeamMember, TeamMember.team_id == Team.id)
                         .where(TeamMember.user_id == sun.id).order_by(Team.name)).all()
    assert sorted(teams) == sorted(["义警队", "护学岗队"])
    qian = session.exec(select(User).where(User.phone == "13900001002")).one()
    assert qian.home_grid_id == town.grid("G2").id
    assert session.exec(select(TeamMember).where(TeamMember.user_id == qian.id)).all() == []
    audit = session.exec(select(AuditEvent).where(AuditEvent.action.in_(("user.import", "roster.import")))).all()
    assert sorted(e.action for e in audit) == ["roster.import"] + ["user.import"] * 3
    assert [e for e in audit if e.action == "roster.import"][0].detail == {"accepted": 3, "rejected": 0}


def test_a_row_with_several_faults_lists_them_all(session, town):
    report = roster.import_roster(session, user=town.user(COORDINATOR), data=xlsx([["", "123", "G9", "舞蹈队"]]))
    assert len(report.rejected[0].reasons) == 4


def test_english_headers_in_another_order_and_blank_lines_are_fine(session, town):
    data = xlsx([["G1", "13900002001", "Ada"], [None, None, None], ["g2", "13900002002", "Bob"]],
                header=("Grid", "Phone", "Name"))
    report = roster.import_roster(session, user=town.user(COORDINATOR), data=data)
    assert [(r.row, r.name, r.accepted) for r in report.rows] == [(2, "Ada", True), (4, "Bob", True)]


def test_a_grid_may_be_written_by_its_name(session, town):
    grid = town.grid("G4")
    report = roster.import_roster(session, user=town.user(COORDINATOR), data=xlsx([["新人", "13900003001", grid.name, ""]]))
    assert report.accepted and session.exec(select(User).where(User.phone == "13900003001")).one().home_grid_id == grid.id


@pytest.mark.parametrize("data, status, code", [
    (b"name,phone\nA,13900000001\n", 422, "not_xlsx"),
    (b"PK\x03\x04 not really a zip", 422, "not_xlsx"),
    (b"PK\x03\x04" + b"\0" * (roster.MAX_BYTES + 1), 413, "too_large"),
])
def test_files_that_are_not_xlsx_or_too_large_are_refused(session, town, data, status, code):
    before = users(session)
    with pytest.raises(Invalid) as err:
        roster.import_roster(session, user=town.user(COORDINATOR), data=data)
    assert (err.value.status, err.value.code) == (status, code)
    assert users(session) == before


def test_a_sheet_without_the_name_and_phone_columns_or_rows_is_refused(session, town):
    with pytest.raises(Invalid) as err:
        roster.import_roster(session, user=town.user(COORDINATOR), data=xlsx([["x", "y"]], header=("名字", "电话")))
    assert err.value.code == "bad_header" and "姓名、手机号" in err.value.params["missing"]
    with pytest.raises(Invalid) as err:
        roster.import_roster(session, user=town.user(COORDINATOR), data=xlsx([]))
    assert err.value.code == "empty_roster"


@pytest.mark.parametrize("phone", [VOLUNTEER, OFFICER_G12])
def test_only_a_coordinator_imports(session, town, phone):
    with pytest.raises(Forbidden):
        roster.import_roster(session, user=town.user(phone), data=xlsx(GOOD))
    assert session.exec(select(User).where(User.phone == "13900001001")).first() is None


def test_the_template_has_the_chinese_headers_and_lists_the_grids_and_teams(session, town):
    book = openpyxl.load_workbook(io.BytesIO(roster.template_xlsx(session, user=town.user(COORDINATOR))))
    assert [c.value for c in book.worksheets[0][1]] == ["姓名", "手机号", "网格", "队伍"]
    listed = {row[0] for row in book.worksheets[1].iter_rows(values_only=True)}
    assert {"G1", "G2", "G3", "G4", "义警队", "护学岗队"} <= listed
    # filled in and sent back, it imports
    sheet = book.worksheets[0]
    sheet.append(["模板人", "13900004001", "G1", "义警队"])
    out = io.BytesIO()
    book.save(out)
    assert roster.import_roster(session, user=town.user(COORDINATOR), data=out.getvalue()).accepted
