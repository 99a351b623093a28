"""What the blueprints' views share: a page whole or as the piece htmx asked for."""
from __future__ import annotations

from typing import Any

from flask import current_app, render_template

from volunteers.web.extensions import htmx


def fragment_wanted() -> bool:
    """htmx asked for a piece of the page (not a boosted link or a history restore, which need the whole page)."""
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def page(full: str, fragment: str | None = None, status: int = 200, **context: Any) -> tuple[str, int]:
    """The whole page, or when htmx asks only its partial `fragment` (without one: the page's `content` block, no
    <html> around it)."""
    if not fragment_wanted():
        return render_template(full, **context), status
    if fragment:
        return render_template(fragment, **context), status
    app = current_app._get_current_object()
    app.update_template_context(context)
    template = app.jinja_env.get_or_select_template(full)
    return "".join(template.blocks["content"](template.new_context(context))), status


def render_page(template_name: str, **context: Any) -> str:
    """page() without a partial, the body only (the name auth.py still uses)."""
    return page(template_name, **context)[0]

