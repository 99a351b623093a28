"""平安志愿者 — the domain. Plain Python and SQLModel; nothing here imports Flask except volunteers.web."""
