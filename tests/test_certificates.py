"""Certificates: numbering, the approved minutes of a period (Asia/Shanghai days), the notice period with objections,
issue and withdrawal, the public facts, and the PDF (Chinese text, QR code of the verify URL)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pypdfium2
import pytest
import zxingcpp
from sqlmodel import select

from tests.conftest import COORDINATOR, OFFICER_G12, VOLUNTEER, VOLUNTEER_G3
from volunteers import certificates
from volunteers.errors import Conflict, Forbidden, Invalid, NotFound
from volunteers.models import AuditEvent, Certificate, ServiceRecord, Station, User

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=timezone.utc)  # 12:00 in Shanghai
SPRING = {"period_from": "2026-03-01", "period_to": "2026-05-31"}


def shanghai(*args) -> datetime:
    return datetime(*args, tzinfo=certificates.SHANGHAI)


def add_record(session, volunteer: User, starts_at: datetime, minutes: int, status: str = "approved",
               source: str = "manual") -> ServiceRecord:
    record = ServiceRecord(station_id=volunteer.station_id, volunteer_id=volunteer.id, grid_id=volunteer.home_grid_id,
                           source=source, starts_at=starts_at, ends_at=starts_at + timedelta(minutes=abs(minutes)),
                           month=starts_at.astimezone(certificates.SHANGHAI).strftime("%Y-%m"), minutes=minutes,
                           status=status)
    session.add(record)
    session.commit()
    return record


@pytest.fixture
def served(session, town) -> User:
    """The G1 volunteer with 10 approved hours in April 2026 (and a pending hour that must not count)."""
    volunteer = town.user(VOLUNTEER)
    add_record(session, volunteer, shanghai(2026, 4, 3, 9, 0), 360)
    add_record(session, volunteer, shanghai(2026, 4, 20, 19, 0), 240)
    add_record(session, volunteer, shanghai(2026, 4, 21, 19, 0), 60, status="pending")
    return volunteer


def publish(session, town, volunteer: User, **data) -> Certificate:
    body = {"volunteer_id": volunteer.id, **SPRING, **data}
    return certificates.publish(session, user=town.user(COORDINATOR), data=body, notice_days=7, now=NOW)


# --- Small rules -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, masked", [("张三丰", "张*丰"), ("张三", "张*"), ("欧阳娜娜", "欧**娜"), ("王", "*"),
                                          ("", "*")])
def test_a_name_is_masked_keeping_the_first_and_last_character(name, masked):
    assert certificates.mask_name(name) == masked


@pytest.mark.parametrize("minutes, text", [(600, "10.0"), (100, "1.7"), (3, "0.1"), (87, "1.5"), (0, "0.0")])
def test_hours_have_one_decimal_rounded_half_up(minutes, text):
    assert certificates.hours_text(minutes) == text


def test_the_period_counts_approved_minutes_of_shanghai_days_including_both_ends(session, town):
    volunteer = town.user(VOLUNTEER)
    add_record(session, volunteer, shanghai(2026, 2, 28, 23, 30), 30)  # the day before: not counted
    add_record(session, volunteer, shanghai(2026, 3, 1, 0, 10), 50)  # 16:10 UTC on 28 Feb, but 1 March here
    add_record(session, volunteer, shanghai(2026, 5, 31, 23, 50), 70)  # the last evening counts
    add_record(session, volunteer, shanghai(2026, 6, 1, 0, 5), 90)  # the next morning does not
    add_record(session, volunteer, shanghai(2026, 4, 1, 9, 0), 45, status="rejected")
    add_record(session, volunteer, shanghai(2026, 4, 2, 9, 0), -20, source="correction")
    minutes = certificates.approved_minutes(session, station_id=volunteer.station_id, volunteer_id=volunteer.id,
                                            period_from=date(2026, 3, 1), period_to=date(2026, 5, 31))
    assert minutes == 50 + 70 - 20


# --- Publishing and numbers ---------------------------------------------------------------------------------------

def test_publishing_fixes_the_minutes_and_starts_a_seven_day_notice(session, town, served):
    cert = publish(session, town, served)
    assert certificates.NUMBER_RE.match(cert.number) and cert.number.startswith("PAV-2026-")
    assert cert.status == "notice"
    assert cert.minutes == 600 and cert.issuer == "青石镇派出所"
    assert cert.notice_until == NOW + timedelta(days=7)
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "certificate.publish",
                                                  AuditEvent.object_id == cert.id)).one()
    assert event.object_id == cert.id and event.detail["number"] == cert.number


def test_numbers_grow_and_a_withdrawn_number_is_never_given_again(session, town, served):
    first = publish(session, town, served)
    certificates.withdraw(session, user=town.user(COORDINATOR), certificate_id=first.id, data={"reason": "时段填错"})
    second = publish(session, town, served)
    third = publish(session, town, served, period_from="2026-04-01", period_to="2026-04-30")
    sequence = int(first.number[-6:])
    assert [second.number, third.number] == [f"PAV-2026-{sequence + 1:06d}", f"PAV-2026-{sequence + 2:06d}"]
    assert certificates.next_number(session, 2031) == "PAV-2031-000001"  # each year starts again at 1


def test_the_same_period_twice_is_a_conflict_while_the_first_is_live(session, town, served):
    first = publish(session, town, served)
    with pytest.raises(Conflict) as err:
        publish(session, town, served)
    assert err.value.params["number"] == first.number


@pytest.mark.parametrize("data, code", [
    ({"period_from": "2026-05-31", "period_to": "2026-03-01"}, "bad_period"),
    ({"period_from": "2026-11-01", "period_to": "2026-11-30"}, "future_period"),
    ({"period_from": "2026-01-01", "period_to": "2026-01-31"}, "no_hours"),
    ({"period_from": "31/03/2026"}, "bad_date"),
    ({"issuer": "x" * 101}, "too_long"),
])
def test_a_bad_period_or_one_without_hours_is_refused(session, town, served, data, code):
    with pytest.raises(Invalid) as err:
        publish(session, town, served, **data)
    assert err.value.code == code


def test_only_a_coordinator_publishes_and_only_for_their_own_station(session, town, served):
    for phone in (VOLUNTEER, OFFICER_G12):
        with pytest.raises(Forbidden):
            certificates.publish(session, user=town.user(phone), data={"volunteer_id": served.id, **SPRING}, now=NOW)
    other = other_coordinator(session)
    with pytest.raises(Invalid) as err:
        certificates.publish(session, user=other, data={"volunteer_id": served.id, **SPRING}, now=NOW)
    assert err.value.code == "unknown_volunteer"
    assert session.exec(select(Certificate).where(Certificate.volunteer_id == served.id,
                                                  Certificate.period_from == date(2026, 3, 1))).all() == []


def other_coordinator(session) -> User:
    station = Station(code="OTHER", name="别的派出所")
    session.add(station)
    session.flush()
    person = User(station_id=station.id, phone="13900000000", name="外所协调", password_hash="x", role="coordinator")
    session.add(person)
    session.commit()
    return person


# --- Notice, objections, issue ------------------------------------------------------------------------------------

def test_the_whole_lifecycle_publish_object_resolve_issue(session, town, served):
    coordinator, neighbour = town.user(COORDINATOR), town.user("13800000202")
    cert = publish(session, town, served)
    objection = certificates.object_to(session, user=neighbour, certificate_id=cert.id,
                                       data={"text": "四月二十日那次他没来", "raised_by": "冒名"})
    assert objection.raised_by == neighbour.name  # a volunteer speaks for themself
    assert cert.id in [r.cert.id for r in certificates.notice_list(session, neighbour)]

    with pytest.raises(Conflict) as err:
        certificates.issue(session, user=coordinator, certificate_id=cert.id, now=NOW + timedelta(days=3))
    assert err.value.code == "in_notice"
    with pytest.raises(Conflict) as err:
        certificates.issue(session, user=coordinator, certificate_id=cert.id, now=NOW + timedelta(days=8))
    assert err.value.code == "open_objection" and err.value.status == 409

    certificates.resolve(session, user=coordinator, objection_id=objection.id, data={"resolution": "核实有签到记录"})
    issued = certificates.issue(session, user=coordinator, certificate_id=cert.id, now=NOW + timedelta(days=8))
    assert issued.status == "issued" and issued.issued_at == NOW + timedelta(days=8)
    assert issued.issued_by_id == coordinator.id
    assert certificates.issue(session, user=coordinator, certificate_id=cert.id).issued_at == issued.issued_at
    actions = session.exec(select(AuditEvent.action).where(AuditEvent.object_type == "certificate",
                                                           AuditEvent.object_id == cert.id)
                           .order_by(AuditEvent.id)).all()
    assert actions == ["certificate.publish", "certificate.object", "certificate.resolve", "certificate.issue"]
    assert cert.id not in [r.cert.id for r in certificates.notice_list(session, neighbour)]


def test_a_coordinator_records_who_raised_an_objection(session, town, served):
    cert = publish(session, town, served)
    objection = certificates.object_to(session, user=town.user(COORDINATOR), certificate_id=cert.id,
                                       data={"text": "时长偏多", "raised_by": "居民王先生（电话来访）"})
    assert objection.raised_by == "居民王先生（电话来访）" and objection.recorded_by_id == town.user(COORDINATOR).id


def test_objections_need_text_and_a_certificate_in_notice(session, town, served):
    cert = publish(session, town, served)
    neighbour = town.user("13800000202")
    with pytest.raises(Invalid):
        certificates.object_to(session, user=neighbour, certificate_id=cert.id, data={"text": "  "})
    certificates.issue(session, user=town.user(COORDINATOR), certificate_id=cert.id, now=NOW + timedelta(days=7))
    with pytest.raises(NotFound):  # no longer on the notice list
        certificates.object_to(session, user=neighbour, certificate_id=cert.id, data={"text": "晚了"})
    with pytest.raises(Conflict):
        certificates.object_to(session, user=town.user(COORDINATOR), certificate_id=cert.id, data={"text": "晚了"})


def test_resolving_twice_with_the_same_answer_is_a_retry_with_another_a_conflict(session, town, served):
    cert = publish(session, town, served)
    objection = certificates.object_to(session, user=town.user("13800000202"), certificate_id=cert.id,
                                       data={"text": "有误"})
    coordinator = town.user(COORDINATOR)
    certificates.resolve(session, user=coordinator, objection_id=objection.id, data={"resolution": "已核实"})
    assert certificates.resolve(session, user=coordinator, objection_id=objection.id,
                                data={"resolution": "已核实"}).resolution == "已核实"
    with pytest.raises(Conflict):
        certificates.resolve(session, user=coordinator, objection_id=objection.id, data={"resolution": "别的"})


def test_volunteers_officers_and_other_stations_cannot_issue(session, town, served):
    cert = publish(session, town, served)
    later = NOW + timedelta(days=8)
    with pytest.raises(Forbidden):  # the certificate's own volunteer sees it but may not issue it
        certificates.issue(session, user=served, certificate_id=cert.id, now=later)
    for person in (town.user(VOLUNTEER_G3), town.user(OFFICER_G12), other_coordinator(session)):
        with pytest.raises(NotFound):
            certificates.issue(session, user=person, certificate_id=cert.id, now=later)
    assert session.get(Certificate, cert.id).status == "notice"


def test_withdrawal_needs_a_reason_keeps_it_and_cannot_be_issued_afterwards(session, town, served):
    coordinator = town.user(COORDINATOR)
    cert = publish(session, town, served)
    with pytest.raises(Invalid):
        certificates.withdraw(session, user=coordinator, certificate_id=cert.id, data={"reason": ""})
    certificates.withdraw(session, user=coordinator, certificate_id=cert.id, data={"reason": "志愿者本人申请撤回"})
    assert certificates.withdrawal_reason(session, cert) == "志愿者本人申请撤回"
    with pytest.raises(Conflict):
        certificates.issue(session, user=coordinator, certificate_id=cert.id, now=NOW + timedelta(days=8))
    assert certificates.verify(session, cert.number).status == "withdrawn"


# --- The public facts -----------------------------------------------------------------------------------------

def test_verification_gives_only_the_masked_name_hours_period_issuer_and_status(session, town, served):
    cert = publish(session, town, served)
    facts = certificates.verify(session, "  " + cert.number.lower() + " ")
    assert vars(facts) == {"number": cert.number, "masked_name": certificates.mask_name(served.name), "hours": "10.0",
                           "period_from": date(2026, 3, 1), "period_to": date(2026, 5, 31), "issuer": "青石镇派出所",
                           "status": "notice"}


@pytest.mark.parametrize("number", ["PAV-2026-000999", "PAV-2026-1", "", "' OR 1=1 --", "PAV-2026-00000１"])
def test_an_unknown_number_is_not_found(session, town, served, number):
    publish(session, town, served)
    with pytest.raises(NotFound):
        certificates.verify(session, number)


# --- The PDF ----------------------------------------------------------------------------------------------------

def test_the_pdf_has_the_chinese_title_the_full_name_the_hours_and_a_qr_code_of_the_verify_url(session, town, served):
    cert = publish(session, town, served)
    certificates.issue(session, user=town.user(COORDINATOR), certificate_id=cert.id, now=NOW + timedelta(days=7))
    url = f"https://pingan.example/verify/{cert.number}"
    body = certificates.render_pdf(cert, name=served.name, verify_url=url)
    assert body.startswith(b"%PDF")
    document = pypdfium2.PdfDocument(body)
    page = document[0]
    assert round(page.get_width()) == 595 and round(page.get_height()) == 842  # A4 in points
    text = page.get_textpage().get_text_range()
    assert "志愿服务证明" in text and served.name in text and "10.0" in text and cert.number in text
    assert "2026年3月1日" in text and "2026年5月31日" in text and "青石镇派出所" in text and "2026年12月2日" in text
    image = page.render(scale=2).to_pil()
    codes = zxingcpp.read_barcodes(image)
    assert [c.text for c in codes] == [url]


def test_a_missing_font_is_a_clear_setup_error(session, town, served, tmp_path):
    cert = publish(session, town, served)
    with pytest.raises(certificates.FontMissing) as err:
        certificates.render_pdf(cert, name=served.name, verify_url="http://x/verify/1",
                                font_path=str(tmp_path / "nope.ttc"))
    assert err.value.status == 503 and "nope.ttc" in err.value.params["path"]


def test_only_an_issued_certificate_has_a_pdf(session, town, served):
    cert = publish(session, town, served)
    with pytest.raises(Conflict):
        certificates.pdf_for(session, user=town.user(COORDINATOR), certificate_id=cert.id)


def test_the_demo_town_has_an_issued_certificate_and_one_in_notice_with_an_open_objection(session, town):
    rows = certificates.for_station(session, town.user(COORDINATOR))
    issued = [r for r in rows if r.cert.status == "issued"]
    waiting = [r for r in rows if r.cert.status == "notice"]
    assert len(issued) == 1 and issued[0].name == town.user(VOLUNTEER).name and issued[0].cert.minutes > 0
    assert len(waiting) == 1 and waiting[0].open_objections == 1
    assert certificates.verify(session, issued[0].cert.number).status == "issued"
