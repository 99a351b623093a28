"""Certificate pages: the coordinator's list and publish form, the public notice (公示) with objections, one
certificate with resolve / issue / withdraw, the PDF, and the public verify page that needs no login."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from volunteers import certificates, db as dbs
from volunteers.errors import N_, DomainError, NotFound
from volunteers.models import CertificateObjection, User, utcnow
from volunteers.web.extensions import get_session
from volunteers.web.views import client_ip, page, submit, translate

bp = Blueprint("certificates", __name__)

LABELS = {"status_labels": certificates.STATUS_LABELS, "hours_text": certificates.hours_text,
          "mask_name": certificates.mask_name}
bp.context_processor(lambda: LABELS)  # every template of this blueprint shows these labels


def error_text(err: DomainError) -> str:
    return translate(err.message, err.params)


# --- The coordinator's list and the publish form ------------------------------------------------------------

def index_context(*, form: dict[str, Any] | None = None, error: str | None = None) -> dict[str, Any]:
    """Coordinators: every certificate of the station and the publish form; others: their own certificates."""
    db = get_session()
    if current_user.is_manager:
        today = certificates.local_day(utcnow())
        first = today.replace(day=1) - timedelta(days=1)
        default = {"period_from": today.replace(month=1, day=1).isoformat(), "period_to": first.isoformat()} \
            if today.month > 1 else {"period_from": today.replace(year=today.year - 1, month=1, day=1).isoformat(),
                                     "period_to": first.isoformat()}
        return dict(manager=True, rows=certificates.for_station(db, current_user),
                    volunteers=certificates.volunteer_choices(db, current_user), form=form or default, error=error,
                    notice_days=current_app.config["CERTIFICATE_NOTICE_DAYS"])
    return dict(manager=False, rows=certificates.for_volunteer(db, current_user), form={}, error=error)


@bp.get("/certificates/")
@login_required
def index():
    """The station's certificates and the publish form (coordinator), or my own certificates."""
    return page("certificates/index.html", "certificates/_list.html", **index_context())


@bp.post("/certificates/")
@login_required
def publish():
    """Publish a certificate for its notice period; on a problem, the form again with the reason."""
    return submit(lambda db: certificates.publish(db, user=current_user, data=request.form.to_dict(),
                                                  notice_days=int(current_app.config["CERTIFICATE_NOTICE_DAYS"]),
                                                  ip=client_ip()),
                  done=lambda cert: _("Certificate %(number)s is now in public notice until %(day)s.",
                                      number=cert.number,
                                      day=certificates.chinese_date(certificates.local_day(cert.notice_until))),
                  redirect_to=lambda cert: url_for("certificates.show", certificate_id=cert.id),
                  answer=lambda status, error: page("certificates/index.html", "certificates/_list.html", status,
                                                    **index_context(form=request.form.to_dict(), error=error)))


# --- The public notice (公示) -----------------------------------------------------------------------------------

@bp.get("/certificates/notice")
@login_required
def notice():
    """Certificates in public notice at my station; anyone of the station may raise an objection."""
    return page("certificates/notice.html", "certificates/_notice.html",
                rows=certificates.notice_list(get_session(), current_user))


# --- One certificate --------------------------------------------------------------------------------------------

def detail(cert, status: int = 200, **notes: Any):
    """The certificate's page, or its detail piece for htmx."""
    db = get_session()
    return page("certificates/show.html", "certificates/_detail.html", status, cert=cert,
                name=db.get(User, cert.volunteer_id).name,
                objections=certificates.objections_of(db, cert.id),
                reason=certificates.withdrawal_reason(db, cert) if cert.status == "withdrawn" else "",
                now=utcnow(), **notes)


@bp.get("/certificates/<int:certificate_id>")
@login_required
def show(certificate_id: int):
    """One certificate: its facts, objections, and the coordinator's buttons."""
    return detail(certificates.visible(get_session(), current_user, certificate_id))


def after_step(certificate_id: int, done: str, step):
    """Run a step; htmx gets the detail piece back (with the reason on a refusal), a plain form a redirect."""
    def again(status: int, **notes: Any):
        return detail(certificates.visible(get_session(), current_user, certificate_id), status, **notes)

    return submit(step, done=done, redirect_to=url_for("certificates.show", certificate_id=certificate_id), piece=True,
                  answer=again)


@bp.post("/certificates/<int:certificate_id>/objections")
@login_required
def object_to(certificate_id: int):
    """Record an objection while the certificate is in notice."""
    def work(db):
        return certificates.object_to(db, user=current_user, certificate_id=certificate_id,
                                      data=request.form.to_dict(), ip=client_ip())

    done = _("Your objection was recorded. The coordinator will look into it before the certificate is issued.")
    if current_user.is_manager:  # from the certificate's page: its detail piece
        return after_step(certificate_id, done, work)
    return submit(work, done=done, redirect_to=url_for("certificates.notice"), piece=True, in_page=True,
                  answer=lambda status, **notes: page("certificates/notice.html", "certificates/_notice.html", status,
                                                      rows=certificates.notice_list(get_session(), current_user),
                                                      error_for=certificate_id, **notes))


@bp.post("/certificates/objections/<int:objection_id>/resolve")
@login_required
def resolve(objection_id: int):
    """The coordinator answers an objection."""
    db = get_session()
    objection = dbs.get(db, CertificateObjection, objection_id)
    if objection is None:
        raise NotFound(N_("This objection does not exist."))
    return after_step(objection.certificate_id, _("The objection is resolved."),
                      lambda s: certificates.resolve(s, user=current_user, objection_id=objection_id,
                                                     data=request.form.to_dict(), ip=client_ip()))


@bp.post("/certificates/<int:certificate_id>/issue")
@login_required
def issue(certificate_id: int):
    """Issue the certificate after its notice period (409 while in notice or with an open objection)."""
    return after_step(certificate_id, _("The certificate is issued. Its PDF can be downloaded now."),
                      lambda s: certificates.issue(s, user=current_user, certificate_id=certificate_id, ip=client_ip()))


@bp.post("/certificates/<int:certificate_id>/withdraw")
@login_required
def withdraw(certificate_id: int):
    """Withdraw the certificate, with a reason."""
    return after_step(certificate_id, _("The certificate is withdrawn."),
                      lambda s: certificates.withdraw(s, user=current_user, certificate_id=certificate_id,
                                                      data=request.form.to_dict(), ip=client_ip()))


@bp.get("/certificates/<int:certificate_id>/pdf")
@login_required
def pdf(certificate_id: int):
    """The issued certificate as an A4 PDF with a QR code of its public verify page."""
    cert, name = certificates.pdf_for(get_session(), user=current_user, certificate_id=certificate_id)
    public = current_app.config.get("PUBLIC_URL")
    verify_url = (public + url_for("certificates.verify", number=cert.number) if public
                  else url_for("certificates.verify", number=cert.number, _external=True))
    body = certificates.render_pdf(cert, name=name, verify_url=verify_url,
                                   font_path=current_app.config["CJK_FONT"])
    return body, 200, {"Content-Type": "application/pdf", "Cache-Control": "private, no-store",
                       "Content-Disposition": f'attachment; filename="{cert.number}.pdf"'}


# --- The public check ---------------------------------------------------------------------------------------------

@bp.get("/verify")
def verify_form():
    """A form to type a certificate number; ?number= goes to that number's page."""
    number = certificates.normalise_number(request.args.get("number", ""))
    if number:
        return redirect(url_for("certificates.verify", number=number))
    return render_template("certificates/verify.html", result=None, number="")


@bp.get("/verify/<number>")
def verify(number: str):
    """The public facts of a certificate (masked name, hours, period, issuer, status); unknown numbers are 404."""
    try:
        result = certificates.verify(get_session(), number)
    except NotFound as err:
        return render_template("certificates/verify.html", result=None, number=certificates.normalise_number(number),
                               error=error_text(err)), 404
    return render_template("certificates/verify.html", result=result, number=result.number)
