"""Certificate pages: publishing, the notice list with objections, issue after the notice period, the PDF download,
the public verify page (only the allowed fields), and who may reach what."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

import pypdfium2
import pytest
import zxingcpp
from sqlmodel import Session, select

from tests.conftest import CHEAP_DEMO_HASH, COORDINATOR, OFFICER_G12, VOLUNTEER, VOLUNTEER_G3, Town
from tests.test_certificates import add_record, other_coordinator
from volunteers import certificates, demo
from volunteers.models import Certificate, CertificateObjection, utcnow

HX = {"HX-Request": "true"}
NEIGHBOUR = "13800000202"


MARCH_2025 = datetime(2025, 3, 5, 9, 0, tzinfo=certificates.SHANGHAI)  # long before the demo town's history


@pytest.fixture
def served(session, town):
    """The G1 volunteer with 7.5 approved hours in March 2025."""
    volunteer = town.user(VOLUNTEER)
    add_record(session, volunteer, MARCH_2025, 450)
    return volunteer


def period() -> dict:
    return {"period_from": "2025-03-01", "period_to": "2025-03-31"}


@pytest.fixture
def cert(session, town, served) -> Certificate:
    """A certificate in notice for the G1 volunteer, published through the domain."""
    return certificates.publish(session, user=town.user(COORDINATOR), data={"volunteer_id": served.id, **period()})


def end_notice(session, cert: Certificate) -> None:
    cert = session.get(Certificate, cert.id)
    cert.notice_until = utcnow() - timedelta(minutes=1)
    session.add(cert)
    session.commit()


# --- Publishing ------------------------------------------------------------------------------------------------

def test_the_coordinator_publishes_a_certificate_with_the_form(english, session, served):
    client = english(COORDINATOR)
    page = client.get("/certificates/")
    assert page.status_code == 200 and 'id="publish-form"' in page.text and served.name in page.text
    response = client.post("/certificates/", data={"volunteer_id": served.id, **period()})
    assert response.status_code == 302
    cert = session.exec(select(Certificate).where(Certificate.period_from == date(2025, 3, 1))).one()
    assert urlsplit(response.headers["Location"]).path == f"/certificates/{cert.id}"
    shown = client.get(f"/certificates/{cert.id}")
    assert cert.number in shown.text and "7.5" in shown.text and "In public notice" in shown.text
    assert cert.notice_until - cert.published_at == timedelta(days=7)


def test_the_notice_period_comes_from_the_config(make_app, session_factory_town):
    app, town_user_id = session_factory_town(CERTIFICATE_NOTICE_DAYS=3)
    client = app.test_client()
    client.post("/login", data={"phone": COORDINATOR, "password": "demo1234"})
    assert client.post("/certificates/", data={"volunteer_id": town_user_id, **period()}).status_code == 302
    with Session(app.extensions["volunteers.engine"]) as s:
        cert = s.exec(select(Certificate).where(Certificate.period_from == date(2025, 3, 1))).one()
        assert cert.notice_until - cert.published_at == timedelta(days=3)


@pytest.fixture
def session_factory_town(make_app):
    """An app built with config overrides, holding the demo town and 7.5 h for the G1 volunteer in March 2025."""

    def _make(**overrides):
        app = make_app(**overrides)
        with Session(app.extensions["volunteers.engine"], expire_on_commit=False) as s:
            demo.build(s, password_hash=CHEAP_DEMO_HASH)
            volunteer = Town(s).user(VOLUNTEER)
            add_record(s, volunteer, MARCH_2025, 450)
            return app, volunteer.id

    return _make


def test_a_refused_publish_shows_the_reason_in_the_form_with_the_right_status(english, served):
    client = english(COORDINATOR)
    response = client.post("/certificates/", data={"volunteer_id": served.id, "period_from": "2020-01-01",
                                                   "period_to": "2020-01-31"}, headers=HX)
    assert response.status_code == 422 and "<html" not in response.text
    assert "has no approved service hours in this period" in response.text
    assert 'value="2020-01-01"' in response.text


def test_the_list_is_also_a_partial(english, cert):
    partial = english(COORDINATOR).get("/certificates/", headers=HX)
    assert partial.status_code == 200 and "<html" not in partial.text and 'id="certificates"' in partial.text
    assert cert.number in partial.text


# --- The notice list and objections --------------------------------------------------------------------------------

def test_the_notice_list_shows_masked_names_and_takes_an_objection(english, session, town, cert, served):
    client = english(NEIGHBOUR)
    page = client.get("/certificates/notice")
    assert page.status_code == 200 and cert.number in page.text
    assert certificates.mask_name(served.name) in page.text and served.name not in page.text
    assert served.phone not in page.text
    answer = client.post(f"/certificates/{cert.id}/objections", data={"text": "那天没见到他巡逻"}, headers=HX)
    assert answer.status_code == 200 and "<html" not in answer.text and "Your objection was recorded" in answer.text
    objection = session.exec(select(CertificateObjection).where(CertificateObjection.certificate_id == cert.id)).one()
    neighbour = town.user(NEIGHBOUR)
    assert objection.text == "那天没见到他巡逻" and objection.raised_by == neighbour.name
    assert objection.recorded_by_id == neighbour.id and objection.certificate_id == cert.id


def test_an_empty_objection_is_refused_in_place(english, session, cert):
    answer = english(NEIGHBOUR).post(f"/certificates/{cert.id}/objections", data={"text": ""}, headers=HX)
    assert answer.status_code == 400 and "is required" in answer.text
    assert session.exec(select(CertificateObjection).where(CertificateObjection.certificate_id == cert.id)).all() == []


# --- Issue, resolve, PDF --------------------------------------------------------------------------------------------

def test_issuing_during_the_notice_period_is_409_with_the_reason(english, session, cert):
    answer = english(COORDINATOR).post(f"/certificates/{cert.id}/issue", headers=HX)
    assert answer.status_code == 409 and "The public notice runs until" in answer.text
    session.expire_all()
    assert session.get(Certificate, cert.id).status == "notice"


def test_an_unresolved_objection_blocks_issue_until_it_is_resolved_then_the_pdf_downloads(english, login_as, session,
                                                                                          cert, served):
    login_as(NEIGHBOUR).post(f"/certificates/{cert.id}/objections", data={"text": "时长不对"})
    end_notice(session, cert)
    client = english(COORDINATOR)
    blocked = client.post(f"/certificates/{cert.id}/issue", headers=HX)
    assert blocked.status_code == 409 and "not resolved yet" in blocked.text
    objection = session.exec(select(CertificateObjection).where(CertificateObjection.certificate_id == cert.id)).one()
    page = client.get(f"/certificates/{cert.id}")
    assert "时长不对" in page.text and f"/certificates/objections/{objection.id}/resolve" in page.text
    resolved = client.post(f"/certificates/objections/{objection.id}/resolve", data={"resolution": "已核实签到"},
                           headers=HX)
    assert resolved.status_code == 200 and "已核实签到" in resolved.text
    issued = client.post(f"/certificates/{cert.id}/issue", headers=HX)
    assert issued.status_code == 200 and "Issued" in issued.text and 'id="pdf-link"' in issued.text

    pdf = client.get(f"/certificates/{cert.id}/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert f'filename="{cert.number}.pdf"' in pdf.headers["Content-Disposition"]
    page1 = pypdfium2.PdfDocument(pdf.data)[0]
    assert "志愿服务证明" in page1.get_textpage().get_text_range()
    codes = zxingcpp.read_barcodes(page1.render(scale=2).to_pil())
    assert [c.text for c in codes] == [f"http://localhost/verify/{cert.number}"]
    # the volunteer downloads their own certificate too
    assert login_as(VOLUNTEER).get(f"/certificates/{cert.id}/pdf").status_code == 200


def test_withdrawing_with_a_reason_shows_on_the_page_and_the_public_check(english, client, session, cert):
    coordinator = english(COORDINATOR)
    assert coordinator.post(f"/certificates/{cert.id}/withdraw", data={"reason": ""}, headers=HX).status_code == 400
    done = coordinator.post(f"/certificates/{cert.id}/withdraw", data={"reason": "统计口径错误"})
    assert done.status_code == 302
    assert "统计口径错误" in coordinator.get(f"/certificates/{cert.id}").text
    assert "Withdrawn" in english(NEIGHBOUR).get("/verify/" + cert.number).text


def test_the_pdf_of_a_certificate_in_notice_is_409(login_as, cert):
    assert login_as(COORDINATOR).get(f"/certificates/{cert.id}/pdf").status_code == 409


def test_a_missing_font_is_a_clear_error_not_a_crash(make_app, session_factory_town, tmp_path):
    app, volunteer_id = session_factory_town(CJK_FONT=str(tmp_path / "missing.ttc"))
    client = app.test_client()
    client.post("/login", data={"phone": COORDINATOR, "password": "demo1234"})
    client.post("/lang", data={"lang": "en"})
    client.post("/certificates/", data={"volunteer_id": volunteer_id, **period()})
    with Session(app.extensions["volunteers.engine"]) as s:
        cert = s.exec(select(Certificate).where(Certificate.period_from == date(2025, 3, 1))).one()
        end_notice(s, cert)
        cert_id = cert.id
    assert client.post(f"/certificates/{cert_id}/issue").status_code == 302
    response = client.get(f"/certificates/{cert_id}/pdf")
    assert response.status_code == 503 and "missing.ttc" in response.text and "fonts-noto-cjk" in response.text


# --- The public verify page ---------------------------------------------------------------------------------------

def test_the_public_verify_page_shows_only_the_allowed_fields(english, client, session, cert, served):
    client.post("/lang", data={"lang": "en"})
    page = client.get(f"/verify/{cert.number}")
    assert page.status_code == 200
    assert cert.number in page.text and certificates.mask_name(served.name) in page.text
    assert "7.5" in page.text and cert.period_from.isoformat() in page.text and cert.issuer in page.text
    assert "In public notice" in page.text
    for private in (served.name, served.phone, served.phone[-4:], f"/certificates/{cert.id}", "13800000000"):
        assert private not in page.text
    assert "Log out" not in page.text  # nobody is logged in


def test_the_verify_form_goes_to_the_number_and_an_unknown_number_is_a_clear_404(client, cert):
    assert client.get("/verify").status_code == 200
    typed = client.get("/verify", query_string={"number": " " + cert.number.lower()})
    assert typed.status_code == 302 and urlsplit(typed.headers["Location"]).path == f"/verify/{cert.number}"
    client.post("/lang", data={"lang": "en"})
    missing = client.get("/verify/PAV-2026-999999")
    assert missing.status_code == 404 and "No certificate has the number PAV-2026-999999" in missing.text
    assert 'id="verify-form"' in missing.text


# --- Who may reach what --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/certificates/", "/certificates/notice", "/certificates/1", "/certificates/1/pdf"])
def test_anonymous_visitors_are_sent_to_log_in(client, town, url):
    response = client.get(url)
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"


def test_a_volunteer_cannot_publish_issue_resolve_or_withdraw(login_as, session, cert, served):
    end_notice(session, cert)
    own = login_as(VOLUNTEER)
    assert own.post("/certificates/", data={"volunteer_id": served.id, **period()}).status_code == 403
    assert own.post(f"/certificates/{cert.id}/issue").status_code == 403
    assert own.post(f"/certificates/{cert.id}/withdraw", data={"reason": "x"}).status_code == 403
    other = login_as(VOLUNTEER_G3)
    assert other.get(f"/certificates/{cert.id}").status_code == 404
    assert other.post(f"/certificates/{cert.id}/issue").status_code == 404
    session.expire_all()
    assert session.get(Certificate, cert.id).status == "notice"
    assert len(session.exec(select(Certificate).where(Certificate.volunteer_id == served.id)).all()) == 2  # the demo's and this one


def test_an_officer_sees_no_certificate_pages_but_the_notice(login_as, cert):
    officer = login_as(OFFICER_G12)
    assert officer.get(f"/certificates/{cert.id}").status_code == 404
    assert officer.get(f"/certificates/{cert.id}/pdf").status_code == 404
    assert officer.get("/certificates/notice").status_code == 200


def test_a_coordinator_of_another_station_gets_404_everywhere(app, session, cert):
    stranger = other_coordinator(session)
    client = app.test_client()
    stranger.password_hash = CHEAP_DEMO_HASH
    session.add(stranger)
    session.commit()
    assert client.post("/login", data={"phone": "13900000000", "password": "demo1234"}).status_code == 302
    end_notice(session, cert)
    for method, url in [("GET", f"/certificates/{cert.id}"), ("GET", f"/certificates/{cert.id}/pdf"),
                        ("POST", f"/certificates/{cert.id}/issue"), ("POST", f"/certificates/{cert.id}/objections")]:
        assert client.open(url, method=method, data={"text": "x", "reason": "x"}).status_code == 404, url
    assert cert.number not in client.get("/certificates/").text
    assert cert.number not in client.get("/certificates/notice").text
    session.expire_all()
    assert session.get(Certificate, cert.id).status == "notice"


def test_the_certificate_and_the_notice_are_also_partials(login_as, cert):
    client = login_as(COORDINATOR)
    detail = client.get(f"/certificates/{cert.id}", headers=HX)
    assert detail.status_code == 200 and "<html" not in detail.text and f'id="certificate-{cert.id}"' in detail.text
    assert "HX-Request" in detail.headers.get("Vary", "")
    notice = client.get("/certificates/notice", headers=HX)
    assert notice.status_code == 200 and "<html" not in notice.text and f'id="notice-{cert.id}"' in notice.text


def test_with_a_public_url_configured_the_qr_points_there_not_at_the_request_host(app, english, session, cert):
    app.config["PUBLIC_URL"] = "https://zyz.qingshi.example.cn"
    end_notice(session, cert)
    client = english(COORDINATOR)
    assert client.post(f"/certificates/{cert.id}/issue", headers=HX).status_code == 200
    pdf = client.get(f"/certificates/{cert.id}/pdf")
    codes = zxingcpp.read_barcodes(pypdfium2.PdfDocument(pdf.data)[0].render(scale=2).to_pil())
    assert [c.text for c in codes] == [f"https://zyz.qingshi.example.cn/verify/{cert.number}"]


def test_hours_always_carry_their_unit_on_the_public_check_page_and_the_certificate(client, login_as, cert):
    assert "7.5 小时" in client.get(f"/verify/{cert.number}").text  # not a bare 时长 7.5
    assert "7.5 小时" in login_as(COORDINATOR).get(f"/certificates/{cert.id}").text
