"""Template helpers: fresh client ids for forms, masked phone numbers."""
from __future__ import annotations

import uuid

from flask import Flask
from flask_babel import format_datetime, format_time, get_locale

from volunteers.accounts import mask_phone


def init_app(app: Flask) -> None:
    """Expose uuid4() (a client_id per rendered form), locale-aware time formatting and mask_phone."""
    app.jinja_env.globals.update(uuid4=lambda: str(uuid.uuid4()), get_locale=get_locale,
                                 format_datetime=format_datetime, format_time=format_time)
    app.jinja_env.filters["mask_phone"] = mask_phone
