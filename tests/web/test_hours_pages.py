"""Hours pages: my hours, the approval queue as page and partial (bulk, reasons, scope), record and correction,
manual entries, the tally with its XLSX/CSV downloads, month certification and the monthly evaluation."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import openpyxl
import pytest
from sqlmodel import select

from tests.conftest import COORDINATOR, OFFICER_G12, OFFICER_G34, VOLUNTEER, VOLUNTEER_G3
from volunteers import hours
from volunteers.models import AuditEvent, MonthCertification, ServiceRecord, utcnow
from volunteers.duties import today as shanghai_today  # the station's date, not the machine's (UTC)

HX = {"HX-Request": "true"}


def pending_of(session, grid):
    return list(session.exec(select(ServiceRecord).where(ServiceRecord.status == "pending",
                                                        ServiceRecord.grid_id == grid.id).order_by(ServiceRecord.id)))


def test_the_volunteer_home_links_to_my_hours(login_as, town):
    assert 'href="/hours/"' in login_as(VOLUNTEER).get("/").text


def test_my_hours_shows_month_year_total_stars_and_records(english, town):
    page = english(VOLUNTEER).get("/hours/")
    assert page.status_code == 200
    for part in ('id="hours-month"', 'id="hours-year"', 'id="hours-total"', 'id="stars"', "Patrol", "Manual entry"):
        assert part in page.text
    s = hours.summary(town.session, town.user(VOLUNTEER))
    assert f"{s['total'].approved_minutes / 60:.1f}" in page.text
    assert "<progress" in page.text


def test_the_officer_sees_only_their_grids_pending_records(english, town):
    page = english(OFFICER_G12).get("/hours/review")
    assert page.status_code == 200
    g1 = pending_of(town.session, town.grid("G1"))
    g3 = pending_of(town.session, town.grid("G3"))
    assert g1 and g3
    assert f'id="record-{g1[0].id}"' in page.text and f'id="record-{g3[0].id}"' not in page.text
    partial = english(OFFICER_G12).get("/hours/review", headers=HX)
    assert '<div id="review"' in partial.text and "<html" not in partial.text


def test_an_officer_approves_ticked_records_in_bulk_through_htmx(english, town):
    records = pending_of(town.session, town.grid("G1"))[:2]
    ids = [r.id for r in records]
    officer = english(OFFICER_G12)
    asked = officer.post("/hours/review", data={"ids": ids, "decision": "approve"}, headers=HX)
    hours_in_all = "%.1f" % (sum(r.minutes for r in records) / 60)
    assert asked.status_code == 200 and f"Approve 2 records, {hours_in_all} hours in all?" in asked.text
    assert 'id="confirm-approve"' in asked.text and "<html" not in asked.text
    town.session.expire_all()
    assert {town.session.get(ServiceRecord, i).status for i in ids} == {"pending"}  # nothing done before the yes
    response = officer.post("/hours/review", data={"ids": ids, "decision": "approve", "confirm": "1"}, headers=HX)
    assert response.status_code == 200 and "Approved: 2." in response.text and "<html" not in response.text
    town.session.expire_all()
    assert {town.session.get(ServiceRecord, i).status for i in ids} == {"approved"}
    assert town.session.exec(select(AuditEvent).where(AuditEvent.action == "service_record.approve",
                                                      AuditEvent.object_id == ids[0])).first()


def test_a_rejection_without_a_reason_is_refused_in_place(english, town):
    record = pending_of(town.session, town.grid("G1"))[0]
    response = english(OFFICER_G12).post("/hours/review", data={"ids": [record.id], "decision": "reject"}, headers=HX)
    assert response.status_code == 422 and "Please write the reason." in response.text
    done = english(OFFICER_G12).post("/hours/review", data={"ids": [record.id], "decision": "reject", "reason": "没有签到"})
    assert done.status_code == 302
    town.session.expire_all()
    assert town.session.get(ServiceRecord, record.id).rejection_reason == "没有签到"


def test_an_officer_cannot_decide_another_grids_record(english, town):
    record = pending_of(town.session, town.grid("G3"))[0]
    response = english(OFFICER_G12).post("/hours/review", data={"ids": [record.id], "decision": "approve"}, headers=HX)
    assert response.status_code == 404
    response = english(OFFICER_G12).post("/hours/review", data={"ids": [record.id], "decision": "approve",
                                                                "confirm": "1"}, headers=HX)
    assert response.status_code == 404
    town.session.expire_all()
    assert town.session.get(ServiceRecord, record.id).status == "pending"


def test_a_volunteer_cannot_approve_even_their_own_hours(english, town):
    mine = town.session.exec(select(ServiceRecord).where(ServiceRecord.volunteer_id == town.user(VOLUNTEER).id,
                                                        ServiceRecord.status == "pending")).first()
    assert english(VOLUNTEER).post("/hours/review", data={"ids": [mine.id], "decision": "approve"}).status_code == 403
    assert english(VOLUNTEER).post("/hours/review", data={"ids": [mine.id], "decision": "approve",
                                                          "confirm": "1"}).status_code == 403
    assert english(VOLUNTEER).get("/hours/review").status_code == 302
    town.session.expire_all()
    assert town.session.get(ServiceRecord, mine.id).status == "pending"


def test_a_coordinator_of_another_station_cannot_decide(make_app, town, english):
    record = pending_of(town.session, town.grid("G1"))[0]
    from volunteers.models import Station, User
    other = Station(code="X", name="别的所")
    town.session.add(other)
    town.session.flush()
    coord = town.user(COORDINATOR)
    town.session.add(User(station_id=other.id, phone="13900000000", name="别人", password_hash=coord.password_hash,
                          role="coordinator"))
    town.session.commit()
    client = english("13900000000")
    assert client.post("/hours/review", data={"ids": [record.id], "decision": "approve"}).status_code == 404
    assert client.post("/hours/review", data={"ids": [record.id], "decision": "approve", "confirm": "1"}).status_code == 404
    assert client.get(f"/hours/{record.id}").status_code == 404
    assert client.get("/api/v1/hours", query_string={"from": "2026-01-01", "to": "2026-12-31"}).json == []


def test_records_are_seen_by_their_volunteer_and_grid_officer_only(english, town):
    record = town.session.exec(select(ServiceRecord).where(ServiceRecord.volunteer_id == town.user(VOLUNTEER).id)).first()
    assert english(VOLUNTEER).get(f"/hours/{record.id}").status_code == 200
    assert english(OFFICER_G12).get(f"/hours/{record.id}").status_code == 200
    assert english(VOLUNTEER_G3).get(f"/hours/{record.id}").status_code == 404
    assert english(OFFICER_G34).get(f"/hours/{record.id}").status_code == 404


def test_an_approved_record_is_corrected_by_a_linked_record(english, town):
    record = town.session.exec(select(ServiceRecord).where(ServiceRecord.status == "approved",
                                                          ServiceRecord.grid_id == town.grid("G1").id,
                                                          ServiceRecord.source == "patrol")).first()
    client = english(OFFICER_G12)
    assert "Add a correction" in client.get(f"/hours/{record.id}").text
    response = client.post(f"/hours/{record.id}/correct", data={"minutes": "-20", "reason": "提前离开"})
    assert response.status_code == 302
    fix = town.session.exec(select(ServiceRecord).where(ServiceRecord.corrects_id == record.id)).one()
    assert (fix.minutes, fix.source, fix.status) == (-20, "correction", "pending")
    bad = client.post(f"/hours/{record.id}/correct", data={"minutes": "-20", "reason": ""})
    assert bad.status_code == 422 and "Please write the reason." in bad.text
    assert english(VOLUNTEER).post(f"/hours/{record.id}/correct", data={"minutes": "5", "reason": "x"}).status_code in (403, 404)


def test_the_coordinator_adds_hours_by_hand(english, town):
    client = english(COORDINATOR)
    assert client.get("/hours/manual").status_code == 200
    volunteer = town.user(VOLUNTEER)
    response = client.post("/hours/manual", data={"volunteer_id": volunteer.id, "day": shanghai_today().isoformat(),
                                                  "minutes": "120", "reason": "反诈宣传活动"})
    assert response.status_code == 302
    record = town.session.exec(select(ServiceRecord).where(ServiceRecord.source == "manual",
                                                          ServiceRecord.reason == "反诈宣传活动")).one()
    assert record.minutes == 120 and record.created_by_id == town.user(COORDINATOR).id
    bad = client.post("/hours/manual", data={"volunteer_id": volunteer.id, "day": "2026-02-30", "minutes": "60",
                                             "reason": "x"})
    assert bad.status_code == 400 and "must be a date" in bad.text and "反诈" not in bad.text


@pytest.mark.parametrize("phone", [OFFICER_G12, VOLUNTEER])
def test_only_the_coordinator_adds_hours_by_hand(english, town, phone):
    assert english(phone).get("/hours/manual").status_code == 403
    data = {"volunteer_id": town.user(VOLUNTEER).id, "day": "2026-11-01", "minutes": "60", "reason": "x"}
    assert english(phone).post("/hours/manual", data=data).status_code == 403


def test_a_certified_month_is_locked_with_a_clear_message(english, town):
    client = english(COORDINATOR)
    last = town.session.exec(select(MonthCertification)).one()
    response = client.post("/hours/manual", data={"volunteer_id": town.user(VOLUNTEER).id, "day": f"{last.month}-20",
                                                  "minutes": "60", "reason": "补录"})
    assert response.status_code == 409 and f"{last.month} is certified and locked" in response.text
    page = client.get("/hours/months", query_string={"month": last.month})
    assert "is certified; its records are locked." in page.text and 'id="certify-form"' not in page.text


def test_the_tally_page_and_partial(english, town):
    client = english(OFFICER_G12)
    page = client.get("/hours/tally", query_string={"from": "2026-01-01", "to": shanghai_today().isoformat(), "by": "grid"})
    assert page.status_code == 200 and f'id="tally-grid-{town.grid("G1").id}"' in page.text
    assert f'id="tally-grid-{town.grid("G3").id}"' not in page.text
    partial = client.get("/hours/tally", query_string={"by": "team"}, headers=HX)
    assert partial.text.lstrip().startswith('<section class="card" id="tally">')
    assert client.get("/hours/tally", query_string={"from": "nope"}).status_code == 400
    assert english(VOLUNTEER).get("/hours/tally").status_code == 302


def test_the_xlsx_download_has_the_tallys_numbers(english, town):
    query = {"from": "2026-01-01", "to": shanghai_today().isoformat(), "by": "volunteer"}
    response = english(COORDINATOR).get("/hours/export.xlsx", query_string=query)
    assert response.status_code == 200 and "spreadsheetml" in response.content_type
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    assert [c.value for c in sheet[1]][:4] == ["编号", "志愿者", "已审核时长（小时）", "待审核时长（小时）"]
    rows = hours.tally(town.session, town.user(COORDINATOR).station_id, date(2026, 1, 1), shanghai_today())
    assert sheet.max_row == len(rows) + 1
    assert sheet["A2"].value == rows[0].id and sheet["B2"].value == rows[0].name
    assert sheet["C2"].value == pytest.approx(rows[0].approved_minutes / 60, abs=0.01)
    assert isinstance(sheet["E2"].value, int) and sheet["E2"].value == rows[0].approved_minutes


def test_the_csv_download_is_utf8_with_a_bom(english, town):
    response = english(OFFICER_G34).get("/hours/export.csv", query_string={"from": "2026-01-01", "by": "grid",
                                                                           "to": shanghai_today().isoformat()})
    assert response.status_code == 200 and response.data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert table[0][1] == "网格" and {row[1] for row in table[1:]} <= {town.grid("G3").name, town.grid("G4").name}


@pytest.mark.parametrize("phone", [VOLUNTEER])
def test_volunteers_cannot_download_exports(english, town, phone):
    assert english(phone).get("/hours/export.xlsx").status_code == 403
    assert english(COORDINATOR).get("/hours/export.pdf").status_code == 404


def test_the_monthly_evaluation_per_grid_and_team(english, town):
    client = english(COORDINATOR)
    month = hours.month_of(utcnow())
    page = client.get("/hours/months", query_string={"month": month, "by": "grid"})
    assert page.status_code == 200 and f'id="eval-grid-{town.grid("G1").id}"' in page.text
    assert "Must-visit coverage" in page.text and "is not over yet" in page.text and 'id="certify-form"' not in page.text
    done = client.get("/hours/months", query_string={"month": hours.month_of(utcnow() - timedelta(days=7)),
                                                      "by": "grid"})  # the demo's last week: patrols on routes
    assert re.search(r'class="num">\d+\.\d%<', done.text)
    teams = client.get("/hours/months", query_string={"month": month, "by": "team"}, headers=HX)
    assert 'id="eval-team-' in teams.text and "<html" not in teams.text
    officer = english(OFFICER_G12).get("/hours/months", query_string={"month": month})
    assert f'id="eval-grid-{town.grid("G3").id}"' not in officer.text and 'id="certify-form"' not in officer.text


def test_the_coordinator_certifies_a_month_once_nothing_is_pending(english, town):
    client = english(COORDINATOR)
    refused = client.post("/hours/months", data={"month": hours.month_of(utcnow())})
    assert refused.status_code == 422 and "is not over yet" in refused.text
    first = shanghai_today().replace(day=1)
    for _ in range(3):  # three months back: long over, all decided, and never the month the demo certified
        first = (first - timedelta(days=1)).replace(day=1)
    month = first.strftime("%Y-%m")
    assert english(OFFICER_G12).post("/hours/months", data={"month": month}).status_code == 403
    done = client.post("/hours/months", data={"month": month})
    assert done.status_code == 302
    assert hours.is_certified(town.session, town.user(COORDINATOR).station_id, month)


def form_client_id(html: str) -> str:
    """The client_id the page put in its form (a retry of that form sends the same one)."""
    return re.search(r'name="client_id" value="([0-9a-f-]{36})"', html).group(1)


def test_a_manual_entry_sent_twice_is_saved_once_and_the_same_id_with_other_minutes_is_409(english, town):
    client = english(COORDINATOR)
    cid = form_client_id(client.get("/hours/manual").text)
    data = {"client_id": cid, "volunteer_id": town.user(VOLUNTEER).id, "day": shanghai_today().isoformat(),
            "minutes": "90", "reason": "消防培训"}
    first, again = client.post("/hours/manual", data=data), client.post("/hours/manual", data=data)
    assert first.status_code == again.status_code == 302 and first.headers["Location"] == again.headers["Location"]
    saved = town.session.exec(select(ServiceRecord).where(ServiceRecord.reason == "消防培训")).all()
    assert len(saved) == 1 and saved[0].client_id == cid
    other = client.post("/hours/manual", data=dict(data, minutes="120"))
    assert other.status_code == 409 and "already used for a different request" in other.text
    town.session.expire_all()
    assert len(town.session.exec(select(ServiceRecord).where(ServiceRecord.reason == "消防培训")).all()) == 1


def test_a_correction_sent_twice_is_saved_once(english, town):
    record = town.session.exec(select(ServiceRecord).where(ServiceRecord.status == "approved",
                                                          ServiceRecord.grid_id == town.grid("G1").id,
                                                          ServiceRecord.source == "patrol")).first()
    client = english(OFFICER_G12)
    cid = form_client_id(client.get(f"/hours/{record.id}").text)
    data = {"client_id": cid, "minutes": "15", "reason": "晚到补登"}
    assert client.post(f"/hours/{record.id}/correct", data=data).status_code == 302
    assert client.post(f"/hours/{record.id}/correct", data=data).status_code == 302
    assert len(town.session.exec(select(ServiceRecord).where(ServiceRecord.corrects_id == record.id)).all()) == 1
    other = client.post(f"/hours/{record.id}/correct", data=dict(data, minutes="30"))
    assert other.status_code == 409 and "already used for a different request" in other.text
    assert len(town.session.exec(select(ServiceRecord).where(ServiceRecord.corrects_id == record.id)).all()) == 1


# --- Bulk approval with a guard (issue 15) ----------------------------------------------------------------------

def flag(session, record: ServiceRecord, *flags: str) -> ServiceRecord:
    record.flags = list(flags)
    session.add(record)
    session.commit()
    return record


def g1_pending_split(session, town):
    """The G1/G2 officer's pending records, with two of G1's flagged (overlap): (those two, the clean ones); the
    demo's own shifts done without evidence are flagged too."""
    g1 = pending_of(session, town.grid("G1"))
    flagged = [flag(session, r, "overlap") for r in g1[:2]]
    officer = town.user(OFFICER_G12)
    shown = hours.pending_for(session, officer)
    marks = hours.review_flags(session, [r for r, _v in shown])
    return flagged, [r for r, _v in shown if not marks[r.id]]


def test_select_all_without_js_asks_first_and_never_takes_a_flagged_record(english, town):
    flagged, clean = g1_pending_split(town.session, town)
    officer = english(OFFICER_G12)
    page = officer.get("/hours/review").text
    assert all(f'name="flagged" value="{r.id}"' in page for r in flagged)  # ticked one by one, no data-check-item
    assert f'name="flagged" value="{flagged[0].id}" data-check-item' not in page
    # A "select all" that also carries the flagged ids among the plain ticks (what a tick-everything script sends).
    asked = officer.post("/hours/review", data={"all": "1", "ids": [r.id for r in flagged], "decision": "approve"})
    count, minutes = len(clean), sum(r.minutes for r in clean)
    left = len(hours.pending_for(town.session, town.user(OFFICER_G12))) - count
    assert asked.status_code == 200 and "<html" in asked.text and left >= 2
    assert f"Approve {count} records, {minutes / 60:.1f} hours in all?" in asked.text
    assert f"{left} records with flags were not taken" in asked.text
    assert all(f'name="ids" value="{r.id}"' not in asked.text for r in flagged)
    town.session.expire_all()
    assert town.session.exec(select(ServiceRecord).where(ServiceRecord.status == "approved",
                                                         ServiceRecord.id.in_([r.id for r in clean]))).first() is None
    # The same request with confirm (skipping the page) is guarded too, and says so.
    done = officer.post("/hours/review", data={"all": "1", "ids": [r.id for r in flagged], "decision": "approve",
                                               "confirm": "1"}, headers=HX)
    assert done.status_code == 200 and f"Approved: {count}." in done.text and "were not taken" in done.text
    town.session.expire_all()
    assert {town.session.get(ServiceRecord, r.id).status for r in flagged} == {"pending"}
    assert {town.session.get(ServiceRecord, r.id).status for r in clean} == {"approved"}


def test_a_flagged_record_ticked_by_itself_is_approved_with_the_select_all(english, town):
    flagged, clean = g1_pending_split(town.session, town)
    officer = english(OFFICER_G12)
    asked = officer.post("/hours/review", data={"all": "1", "flagged": [flagged[0].id], "decision": "approve"},
                         headers=HX)
    assert f"Approve {len(clean) + 1} records" in asked.text
    ids = [int(i) for i in __import__("re").findall(r'name="ids" value="(\d+)"', asked.text)]
    assert flagged[0].id in ids and flagged[1].id not in ids
    done = officer.post("/hours/review", data={"ids": ids, "decision": "approve", "confirm": "1"})
    assert done.status_code == 302
    town.session.expire_all()
    assert town.session.get(ServiceRecord, flagged[0].id).status == "approved"
    assert town.session.get(ServiceRecord, flagged[1].id).status == "pending"


def test_only_flagged_records_under_select_all_is_refused_with_the_reason(english, town):
    flagged, clean = g1_pending_split(town.session, town)
    for record in clean:
        flag(town.session, record, "no_evidence")
    response = english(OFFICER_G12).post("/hours/review", data={"all": "1", "decision": "approve", "confirm": "1"},
                                         headers=HX)
    assert response.status_code == 422 and "records with flags are ticked one by one" in response.text


def test_the_queue_shows_flagged_records_first_with_their_evidence_and_the_rest_in_a_fold(english, town):
    flagged, clean = g1_pending_split(town.session, town)
    page = english(OFFICER_G12).get("/hours/review").text
    counts = page.split('id="review-counts"', 1)[1].split("</section>", 1)[0]
    total = len(hours.pending_for(town.session, town.user(OFFICER_G12)))
    assert f"{total} records wait for approval" in counts
    left = total - len(clean)
    assert f"{left} with flags" in counts and f"{len(clean)} without flags" in counts
    assert page.index('id="review-flagged"') < page.index('id="review-clear"')
    assert "Overlaps other service" in page.split('id="review-flagged"', 1)[1].split('id="review-clear"', 1)[0]
    assert f"Select all {len(clean)} without flags" in page


# --- Month certification checks first -----------------------------------------------------------------------

def test_certification_says_what_is_pending_with_links_before_it_offers_the_button(english, town):
    session = town.session
    month = hours.month_of(utcnow() - timedelta(days=100))  # over, and not the demo's certified month
    record = pending_of(session, town.grid("G1"))[0]
    record.month = month
    session.add(record)
    session.commit()
    coordinator = english(COORDINATOR)
    page = coordinator.get("/hours/months", query_string={"month": month}).text
    assert 'id="certify-form"' not in page and "cannot be certified yet: 1 record still waits" in page
    blockers = page.split('id="month-blockers"', 1)[1].split("</ul>", 1)[0]
    assert f"/hours/review?grid={town.grid('G1').id}&amp;month={month}" in blockers and "陈警官" in blockers
    narrowed = coordinator.get("/hours/review", query_string={"grid": town.grid("G1").id, "month": month}).text
    assert f'id="record-{record.id}"' in narrowed and narrowed.count('class="row hours-row"') == 1
    assert "G1 " in narrowed.split('id="review-counts"', 1)[1].split("</section>", 1)[0]  # says what it shows
    other = english(OFFICER_G34).get("/hours/months", query_string={"month": month}).text
    assert 'id="month-blockers"' not in other  # G1's pending record is not the G3/G4 officer's to chase
    refused = coordinator.post("/hours/months", data={"month": month})
    assert refused.status_code == 409 and 'id="month-blockers"' in refused.text
    record.status = "approved"
    session.add(record)
    session.commit()
    page = coordinator.get("/hours/months", query_string={"month": month}).text
    assert 'id="certify-form"' in page and "data-confirm" in page and 'id="month-blockers"' not in page


def test_a_shifts_record_shows_its_evidence_and_flags_in_words(english, town):
    session = town.session
    record = session.exec(select(ServiceRecord).where(ServiceRecord.source == "assignment",
                                                      ServiceRecord.grid_id == town.grid("G1").id)).first()
    from volunteers.models import Assignment
    shift = session.get(Assignment, record.assignment_id)
    shift.lat = shift.lon = None
    shift.no_location = True
    session.add(shift)
    session.commit()
    page = english(OFFICER_G12).get(f"/hours/{record.id}").text
    evidence = page.split('id="record-evidence"', 1)[1].split("</dd>", 1)[0]
    assert "The volunteer said: no location" in evidence
    assert "No evidence: no location, no photo" in page
