"""Template helpers: the POST form macro, fresh client ids for forms, masked phone numbers."""
from __future__ import annotations

import uuid

from flask import Flask, current_app
from flask_babel import format_datetime, format_time, get_locale, get_translations, gettext

from volunteers.accounts import mask_phone
from volunteers.errors import InContext


def where_words(near) -> str:
    """A grids.Nearby in people's words: "东街村委会 东北 120 米" / "120 m north-east of 东街村委会"; "" for None."""
    if near is None:
        return ""
    if near.direction is None:
        return gettext("at %(place)s", place=near.place)
    return gettext("%(distance)d m %(direction)s of %(place)s", distance=near.distance_m,
                   direction=gettext(near.direction), place=near.place)


def metres(value) -> str:
    """A distance or a GPS accuracy in whole metres with its unit ("±8 米" in Chinese)."""
    return gettext("%(distance)d m", distance=round(value))


def post_form(*args, **kwargs):
    """templates/macros/forms.html's post_form, for every template without an import: page() renders a page's content
    block alone, where a page's own top-level imports would not have run."""
    return current_app.jinja_env.get_template("macros/forms.html").module.post_form(*args, **kwargs)


def init_app(app: Flask) -> None:
    """Expose post_form, uuid4() (a client_id per rendered form), locale-aware time formatting and mask_phone."""
    # Templates' _() also honours NP_ contexts (Jinja's newstyle gettext does the %-formatting itself).
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: (get_translations().upgettext(s.context, s) if isinstance(s, InContext)
                           else get_translations().ugettext(s)),
        ngettext=lambda s, p, n: get_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: get_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: get_translations().unpgettext(c, s, p, n))
    app.jinja_env.globals.update(post_form=post_form, uuid4=lambda: str(uuid.uuid4()), get_locale=get_locale,
                                 format_datetime=format_datetime, format_time=format_time,
                                 where_words=where_words)
    app.jinja_env.filters["metres"] = metres
    app.jinja_env.filters["mask_phone"] = mask_phone


def compile_all(app: Flask) -> int:
    """Compile every template now (a server process calls this before its first request): the first page a process
    served after a start or a graceful restart took 2–3× as long, compiling its templates (bench/README.md)."""
    names = [n for n in app.jinja_env.list_templates() if n.endswith(".html")]
    for name in names:
        app.jinja_env.get_template(name)
    return len(names)
