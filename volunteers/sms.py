"""Text messages to phones, behind a small adapter chosen by config (SMS_BACKEND); no real gateway here yet."""
from __future__ import annotations

import logging
from typing import Protocol

log = logging.getLogger(__name__)


class Sms(Protocol):
    """Anything that can send one text message to one phone."""

    def send(self, phone: str, text: str) -> None: ...


class LoggingSms:
    """Writes each message to the log and keeps it in `sent` (for tests and for a dry run)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        """Log the message instead of sending it."""
        log.info("SMS to %s: %s", phone, text)
        self.sent.append((phone, text))


BACKENDS = {"log": LoggingSms}


def backend(name: str | None) -> Sms:
    """The adapter a config value names ("log" when unset); an unknown name is a clear error, not a silent default."""
    key = (name or "log").strip().lower()
    if key not in BACKENDS:
        raise ValueError(f"Unknown SMS_BACKEND {name!r}; choose one of: {', '.join(sorted(BACKENDS))}.")
    return BACKENDS[key]()
