"""Domain errors: a stable code, an HTTP-ish status, and an untranslated message with its parameters.

The domain never imports Flask, so messages are only *marked* here with N_() for extraction;
the web layer translates them with gettext at the edge.
"""
from __future__ import annotations


def N_(message: str) -> str:
    """Mark a message for translation without translating it (Babel keyword N_)."""
    return message


class InContext(str):
    """A msgid translated within a context, apart from the same English word elsewhere (pgettext)."""
    context: str


def NP_(context: str, message: str) -> InContext:
    """Mark a message with a context (Babel keyword NP_:1c,2): a task's "Accepted" is 已接受, a report's 已受理."""
    marked = InContext(message)
    marked.context = context
    return marked


class DomainError(Exception):
    """A rule said no. `status` is the HTTP status the web layer answers with."""

    status = 422

    def __init__(self, code: str, message: str, status: int | None = None, **params):
        super().__init__(message % params if params else message)
        self.code = code
        self.message = message
        self.params = params
        if status is not None:
            self.status = status


class NotFound(DomainError):
    status = 404

    def __init__(self, message: str = N_("Not found."), **params):
        super().__init__("not_found", message, **params)


class Forbidden(DomainError):
    status = 403

    def __init__(self, message: str = N_("You are not allowed to do that."), **params):
        super().__init__("forbidden", message, **params)


class Conflict(DomainError):
    status = 409

    def __init__(self, code: str, message: str, **params):
        super().__init__(code, message, **params)


class Invalid(DomainError):
    """Input that is malformed (400) or that breaks a rule (422)."""

    def __init__(self, code: str, message: str, status: int = 422, **params):
        super().__init__(code, message, status=status, **params)
