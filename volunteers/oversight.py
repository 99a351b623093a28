"""What an officer or coordinator sees at a glance: who is patrolling in their grids today."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from volunteers import accounts, grids
from volunteers.models import CheckIn, Checkpoint, Grid, Patrol, User, utcnow

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass
class GridToday:
    grid: Grid
    checkpoints: list[Checkpoint]
    running: list[tuple[Patrol, User]] = field(default_factory=list)
    patrols_today: int = 0
    visited_today: set[int] = field(default_factory=set)


def start_of_day(now: datetime) -> datetime:
    """Midnight in Asia/Shanghai (the station's day), as UTC."""
    local = now.astimezone(SHANGHAI)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(now.tzinfo)


def grids_today(session: Session, user: User, now: datetime | None = None) -> list[GridToday]:
    """For each grid the user holds: its checkpoints, who patrols now, today's patrols and visited checkpoints."""
    now = now or utcnow()
    since = start_of_day(now)
    ids = accounts.grid_ids(session, user)
    result = {g.id: GridToday(g, []) for g in session.exec(select(Grid).where(Grid.id.in_(ids)).order_by(Grid.code))}
    for cp, _grid in grids.checkpoints_in(session, ids):
        result[cp.grid_id].checkpoints.append(cp)
    rows = session.exec(
        select(Patrol, User).join(User, User.id == Patrol.user_id)
        .where(User.home_grid_id.in_(ids), sa.or_(Patrol.started_at >= since, Patrol.ended_at.is_(None)))
        .order_by(Patrol.started_at.desc())
    )
    for patrol, volunteer in rows:
        entry = result[volunteer.home_grid_id]
        entry.patrols_today += patrol.started_at >= since
        if patrol.ended_at is None:
            entry.running.append((patrol, volunteer))
    visited = session.exec(
        select(Checkpoint.grid_id, CheckIn.checkpoint_id).join(Checkpoint, Checkpoint.id == CheckIn.checkpoint_id)
        .where(Checkpoint.grid_id.in_(ids), CheckIn.recorded_at >= since).distinct()
    )
    for grid_id, checkpoint_id in visited:
        result[grid_id].visited_today.add(checkpoint_id)
    return list(result.values())
