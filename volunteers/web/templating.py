"""Template helpers: fresh client ids for forms, masked phone numbers."""
from __future__ import annotations

import uuid

from flask import Flask, current_app, render_template
from flask_babel import format_datetime, format_time, get_locale, get_translations, gettext, pgettext

from volunteers.accounts import mask_phone
from volunteers.errors import InContext
from volunteers.web.extensions import htmx


def fragment_wanted() -> bool:
    """htmx asked for a piece of the page (not a boosted link or a history restore, which need the whole page)."""
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render_page(template_name: str, **context) -> str:
    """A page that extends base.html: whole, or only its `content` block (no <html> around it) when htmx asks."""
    if not fragment_wanted():
        return render_template(template_name, **context)
    app = current_app._get_current_object()
    app.update_template_context(context)
    template = app.jinja_env.get_or_select_template(template_name)
    return "".join(template.blocks["content"](template.new_context(context)))


def translate(message: str, **params) -> str:
    """gettext, or pgettext for a msgid marked with a context (NP_) — the one `_` for views and templates."""
    if isinstance(message, InContext):
        return pgettext(message.context, message, **params)
    return gettext(message, **params)


def init_app(app: Flask) -> None:
    """Expose uuid4() (a client_id per rendered form), locale-aware time formatting and mask_phone."""
    # Templates' _() also honours NP_ contexts (Jinja's newstyle gettext does the %-formatting itself).
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: (get_translations().upgettext(s.context, s) if isinstance(s, InContext)
                           else get_translations().ugettext(s)),
        ngettext=lambda s, p, n: get_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: get_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: get_translations().unpgettext(c, s, p, n))
    app.jinja_env.globals.update(uuid4=lambda: str(uuid.uuid4()), get_locale=get_locale,
                                 format_datetime=format_datetime, format_time=format_time)
    app.jinja_env.filters["mask_phone"] = mask_phone
