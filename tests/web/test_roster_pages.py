"""Roster pages: the upload form, the row-by-row report (page and htmx piece), the template download, refused files
with 413/422, and only coordinators."""
from __future__ import annotations

import io

import openpyxl
import pytest
from sqlmodel import func, select

from tests.conftest import COORDINATOR, OFFICER_G12, VOLUNTEER
from tests.test_roster import BAD, GOOD, xlsx
from volunteers.models import User

HX = {"HX-Request": "true"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def users(session) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(User)).one()


def upload(client, data: bytes, name: str = "名册.xlsx", headers=None):
    return client.post("/roster/", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data",
                       headers=headers or {})


def test_the_coordinator_sees_the_upload_form(english):
    page = english(COORDINATOR).get("/roster/")
    assert page.status_code == 200 and 'id="roster-form"' in page.text and "/roster/template.xlsx" in page.text


def test_an_upload_answers_with_the_report_of_every_row(english, session):
    before = users(session)
    page = upload(english(COORDINATOR), xlsx(GOOD + BAD))
    assert page.status_code == 200 and "<html" in page.text
    assert "3 accepted, 8 rejected." in page.text
    assert 'id="roster-row-2"' in page.text and 'id="roster-row-12"' in page.text
    assert "There is no grid “G9” at this station." in page.text and "The name is empty." in page.text
    assert "The phone number is already in row 2 of this file." in page.text
    assert "139****1001" in page.text  # accepted people's phones are masked in the report
    assert users(session) == before + 3


def test_through_htmx_only_the_report_comes_back(english):
    piece = upload(english(COORDINATOR), xlsx(GOOD), headers=HX)
    assert piece.status_code == 200 and "<html" not in piece.text and 'id="roster-result"' in piece.text
    assert "3 accepted, 0 rejected." in piece.text


@pytest.mark.parametrize("data, name, status, text", [
    (b"name,phone\n", "roster.csv", 422, "is not an Excel (.xlsx) file"),
    (b"PK\x03\x04" + b"\0" * (2 * 1024 * 1024 + 10), "big.xlsx", 413, "The file is too large"),
])
def test_a_file_that_is_not_xlsx_or_too_large_is_refused_with_a_message(english, session, data, name, status, text):
    before = users(session)
    response = upload(english(COORDINATOR), data, name)
    assert response.status_code == status and text in response.text
    assert users(session) == before


def test_no_file_is_400_with_a_message(english):
    response = english(COORDINATOR).post("/roster/", data={}, content_type="multipart/form-data")
    assert response.status_code == 400 and "Please choose an .xlsx file" in response.text


def test_the_template_downloads_as_a_real_workbook(login_as):
    response = login_as(COORDINATOR).get("/roster/template.xlsx")
    assert response.status_code == 200 and response.mimetype == XLSX
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert [c.value for c in book.worksheets[0][1]] == ["姓名", "手机号", "网格", "队伍"]


@pytest.mark.parametrize("phone", [VOLUNTEER, OFFICER_G12])
def test_only_the_coordinator_imports(login_as, session, phone):
    client = login_as(phone)
    before = users(session)
    assert client.get("/roster/").status_code == 403
    assert client.get("/roster/template.xlsx").status_code == 403
    assert upload(client, xlsx(GOOD)).status_code == 403
    assert users(session) == before


@pytest.mark.parametrize("url", ["/roster/", "/roster/template.xlsx"])
def test_anonymous_visitors_are_sent_to_log_in(client, town, url):
    assert client.get(url).status_code == 302
