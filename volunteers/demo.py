"""The demo town 青石镇: four grids, their officers and volunteers, three weeks of patrols, reports in every state.

Phones and grids are a contract (DESIGN.md "The demo town"): coordinator 13800000000, officers
13800000101 (G1, G2) and 13800000102 (G3, G4), volunteers from 13800000201 (201 in G1, 211 in G3).
"""
from __future__ import annotations

import io
import random
from datetime import datetime, time, timedelta, timezone

from PIL import Image, ImageDraw
from sqlmodel import Session, select

from volunteers.localtime import SHANGHAI
from volunteers import accounts, certificates, commendations, db, duties, grids, hours, localtime, photos
from volunteers.errors import Conflict, N_
from volunteers.models import (Assignment, Certificate, CheckIn, Checkpoint, Commendation, Duty, Grid, GridOfficer,
                               Hazard, HazardEvent, MonthCertification, Patrol, PatrolPosition, Route, RouteStop,
                               ServiceRecord, Station, Team, TeamMember, User, utcnow)

PASSWORD = "demo1234"
# South-west corner of the town; each grid is about 1 km square.
ORIGIN = (30.2400, 120.0900)
STEP_LAT, STEP_LON = 0.0090, 0.0104

# code, name, (row, col) in the 2×2 layout, checkpoints as (name, fraction north, fraction east, radius m)
GRIDS = [
    ("G1", "东街社区", (1, 0), [("东街村委会", 0.30, 0.30, 50), ("青石小学校门", 0.70, 0.45, 40), ("东街菜市场", 0.45, 0.75, 60)]),
    ("G2", "北河社区", (1, 1), [("北河桥头", 0.25, 0.35, 50), ("镇卫生院", 0.60, 0.55, 50), ("老街加油站", 0.80, 0.80, 40)]),
    ("G3", "南山村", (0, 0), [("南山村委会", 0.35, 0.40, 50), ("南山幼儿园", 0.65, 0.30, 40), ("水库大坝", 0.20, 0.75, 80)]),
    ("G4", "西岭村", (0, 1), [("西岭村口", 0.40, 0.25, 50), ("农贸市场", 0.55, 0.60, 60), ("西岭中学校门", 0.75, 0.40, 40)]),
]

TEAMS = [("红袖标巡逻队", "red_armband"), ("义警队", "auxiliary"), ("护学岗队", "school_gate"), ("商户十户联防", "joint_defence")]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋"
GIVEN = ["秀英", "建国", "桂兰", "志强", "玉珍", "德明", "淑芬", "国庆", "春梅", "海涛", "丽华", "永福",
         "红霞", "长青", "凤英", "文军", "金凤", "保国", "美玲", "爱民", "素珍", "立新", "翠兰", "振华"]


def grid_polygon(row: int, col: int) -> dict:
    """A GeoJSON Polygon for the grid cell at (row, col), closed ring, lon/lat order."""
    s, w = ORIGIN[0] + row * STEP_LAT, ORIGIN[1] + col * STEP_LON
    n, e = s + STEP_LAT, w + STEP_LON
    ring = [[w, s], [e, s], [e, n], [w, n], [w, s]]
    return {"type": "Polygon", "coordinates": [[[round(x, 6), round(y, 6)] for x, y in ring]]}


def volunteer_plan() -> list[tuple[str, str, str, str]]:
    """(phone, grid code, status, name) for the 24 demo volunteers: 201–205 G1, 206–210 G2, 211–215 G3, 216–220 G4 …"""
    plan = []
    for i in range(24):
        number = 201 + i
        grid = ("G1", "G2", "G3", "G4")[i // 5] if i < 20 else ("G2", "G4", "G1", "G3")[i - 20]
        status = {223: "pending", 224: "suspended"}.get(number, "active")
        plan.append((f"13800000{number}", grid, status, SURNAMES[i % len(SURNAMES)] + GIVEN[i]))
    return plan


# Reports in every state. grid, kind, category, description, (fraction north, east) or an address, reporter
# number, and the steps taken: (state, who — "o" the grid's officer, "c" the coordinator —, days after reporting, note).
HAZARDS = [
    ("G1", "hazard", "fire", "三号楼楼道堆放纸箱和旧家具，堵住了消防通道。", (0.35, 0.35), 201,
     [("accepted", "o", 0.1, ""), ("assigned", "o", 0.2, ""), ("rectifying", "o", 1, "已通知物业清理"),
      ("rectified", "o", 2, "杂物已清走"), ("closed", "c", 3, "复查通过")], 18),
    ("G1", "hazard", "gas_electric", "电动车在楼道里充电，电线从窗户拉出来。", (0.55, 0.6), 202,
     [("accepted", "o", 0.2, ""), ("assigned", "o", 0.3, ""), ("rectifying", "o", 1, "已上门劝导")], 9),
    ("G1", "clue", "suspicious", "最近夜里有陌生人在小学附近转悠，多次看校门。", (0.72, 0.5), 203,
     [("accepted", "o", 0.1, "")], 2),
    ("G2", "hazard", "traffic", "北河桥头路口红绿灯坏了，早上车很多。", (0.27, 0.38), 206,
     [("accepted", "o", 0.1, ""), ("assigned", "o", 0.2, "")], 4),
    ("G2", "hazard", "dispute", "两户邻居因为装修噪音吵架。", (0.6, 0.5), 207,
     [("accepted", "o", 0.1, ""), ("assigned", "o", 0.1, ""), ("rectifying", "o", 0.5, "组织双方调解"),
      ("rectified", "o", 2, "双方达成协议"), ("closed", "c", 3, "回访无新矛盾")], 12),
    ("G2", "hazard", "public_order", "老街加油站旁有人聚众打牌赌钱。", (0.78, 0.75), 208, [], 1),
    ("G3", "hazard", "fire", "田里有人焚烧秸秆，离山林很近。", (0.3, 0.7), 211,
     [("accepted", "o", 0.05, ""), ("assigned", "o", 0.1, ""), ("rectifying", "o", 0.2, ""),
      ("rectified", "o", 0.5, "火已扑灭，已教育当事人")], 3),
    ("G3", "hazard", "other", "南山幼儿园门口的井盖不见了。", (0.62, 0.32), 212, [], 0.3),
    ("G4", "hazard", "traffic", "西岭中学校门口放学时车辆乱停。", (0.74, 0.42), 216,
     [("accepted", "o", 0.1, ""), ("assigned", "o", 0.2, "")], 6),
    ("G4", "hazard", "traffic", "中学门口违停车辆很多。", (0.75, 0.41), 217, [("duplicate", "o", 0.1, "")], 5),
    ("G4", "hazard", "dispute", "两家因为宅基地边界起了争执。", (0.5, 0.3), 218,
     [("accepted", "o", 0.1, ""), ("assigned", "o", 0.2, ""), ("rectifying", "o", 1, ""),
      ("rectified", "o", 3, "已移交司法所"), ("closed", "c", 4, "")], 15),
    ("G4", "hazard", "gas_electric", "农贸市场有摊位私拉电线，插座泡水。", (0.56, 0.62), 219,
     [("rejected", "o", 0.5, "经核实为临时照明，已拆除")], 7),
    (None, "hazard", "other", "镇外省道边广告牌松动，风大时摇晃。", "省道 S21 青石出口往东 300 米", 204, [], 0.5),
]
OUTCOMES = {"两户邻居因为装修噪音吵架。": "mediated", "两家因为宅基地边界起了争执。": "referred"}


def sample_photo(rng: random.Random, hue: int) -> bytes:
    """A plain generated picture standing in for a volunteer's photo (no camera in a demo)."""
    image = Image.new("RGB", (1200, 900), (hue, 120, 90))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.randint(0, 1100), rng.randint(0, 800)
        draw.rectangle([x, y, x + rng.randint(40, 300), y + rng.randint(40, 200)],
                       fill=(rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return out.getvalue()


def add_hazards(session: Session, *, station: Station, grid_by_code: dict, officers: dict, coordinator: User,
                users_by_number: dict, now: datetime, rng: random.Random, store: photos.PhotoStore | None) -> int:
    """The demo's reports, each with its history; a few carry generated photos when a photo store is given."""
    for n, (code, kind, category, text, where, number, steps, days_ago) in enumerate(HAZARDS):
        grid = grid_by_code.get(code)
        reporter = users_by_number[number]
        at = now - timedelta(days=days_ago)
        hazard = Hazard(client_id=f"demo-hazard-{n}", fingerprint="demo", station_id=station.id,
                        grid_id=grid.id if grid else None, reporter_id=reporter.id, kind=kind, category=category,
                        description=text, reported_at=at, updated_at=at)
        if isinstance(where, tuple):
            row, col = next(rc for c, _n, rc, _p in GRIDS if c == code)
            hazard.lat = round(ORIGIN[0] + (row + where[0]) * STEP_LAT, 6)
            hazard.lon = round(ORIGIN[1] + (col + where[1]) * STEP_LON, 6)
            hazard.accuracy_m = rng.randint(5, 25)
        else:
            hazard.address = where
        session.add(hazard)
        session.flush()
        session.add(HazardEvent(hazard_id=hazard.id, actor_id=reporter.id, at=at, to_status="reported"))
        if store is not None and n % 3 == 0:
            processed = photos.process(sample_photo(rng, 60 + 15 * n))
            session.add(photos.keep(store, processed, created_at=at, hazard_id=hazard.id))
        status = "reported"
        for to, who, after, note in steps:
            actor = coordinator if who == "c" else officers[code]
            when = at + timedelta(days=after)
            detail = {}
            if to == "accepted":
                hazard.priority = "high" if category in ("fire", "gas_electric") else "normal"
                hazard.deadline = at + timedelta(days=3 if hazard.priority == "high" else 7)
            elif to == "assigned":
                hazard.assignee_id = actor.id
            elif to == "rectified":
                hazard.rectified_by_id = actor.id
            elif to == "duplicate":
                hazard.duplicate_of_id = hazard.id - 1
                detail = {"duplicate_of": hazard.id - 1}
            elif to == "closed" and category == "dispute":
                hazard.mediation_outcome = OUTCOMES[text]
                detail = {"mediation_outcome": hazard.mediation_outcome}
            session.add(HazardEvent(hazard_id=hazard.id, actor_id=actor.id, at=when, from_status=status,
                                    to_status=to, note=note, detail=detail))
            status, hazard.updated_at = to, when
            if to == "closed":
                hazard.closed_at = when
        hazard.status = status
    return len(HAZARDS)


def build(session: Session, *, now: datetime | None = None, seed: int = 7, history_days: int = 21,
          store: photos.PhotoStore | None = None, password_hash: str | None = None) -> dict:
    """Fill an empty database with the demo town; refuses a database that already has data.

    `password_hash` lets tests use a cheaper scrypt for demo1234 (each login checks it: ~0.12 s at full cost)."""
    if db.has_data(session):
        raise Conflict("not_empty", N_("The database already has data; the demo town is only loaded into an empty one."))
    now = now or utcnow()
    rng = random.Random(seed)
    password_hash = password_hash or accounts.hash_password(PASSWORD)  # one hash for all: they share the password

    station = Station(code="QSZ", name="青石镇派出所")
    session.add(station)
    session.flush()

    grid_by_code, routes = {}, {}
    for code, name, (row, col), points in GRIDS:
        grid = Grid(station_id=station.id, code=code, name=name, boundary=grid_polygon(row, col))
        session.add(grid)
        session.flush()
        grid_by_code[code] = grid
        s, w = ORIGIN[0] + row * STEP_LAT, ORIGIN[1] + col * STEP_LON
        route = Route(grid_id=grid.id, name=f"{name}必巡线")
        session.add(route)
        session.flush()
        stops = []
        for position, (cp_name, fn, fe, radius) in enumerate(points):
            cp = Checkpoint(grid_id=grid.id, name=cp_name, lat=round(s + fn * STEP_LAT, 6),
                            lon=round(w + fe * STEP_LON, 6), radius_m=radius, qr_secret=grids.new_qr_secret())
            session.add(cp)
            session.flush()
            session.add(RouteStop(route_id=route.id, position=position, checkpoint_id=cp.id))
            stops.append(cp)
        routes[code] = (route, stops)

    def person(phone, name, role, status="active", grid=None):
        user = User(station_id=station.id, phone=phone, name=name, password_hash=password_hash, role=role,
                    status=status, home_grid_id=grid.id if grid else None, created_at=now - timedelta(days=60))
        session.add(user)
        session.flush()
        return user

    coordinator = person("13800000000", "周协调", "coordinator")
    officer1 = person("13800000101", "陈警官", "officer")
    officer2 = person("13800000102", "林警官", "officer")
    for officer, codes in ((officer1, ("G1", "G2")), (officer2, ("G3", "G4"))):
        for code in codes:
            session.add(GridOfficer(grid_id=grid_by_code[code].id, user_id=officer.id))

    teams = [Team(station_id=station.id, name=name, kind=kind) for name, kind in TEAMS]
    session.add_all(teams)
    session.flush()
    volunteers = []
    for i, (phone, code, status, name) in enumerate(volunteer_plan()):
        user = person(phone, name, "volunteer", status, grid_by_code[code])
        session.add(TeamMember(team_id=teams[i % len(teams)].id, user_id=user.id))
        if i % 3 == 0:  # some serve in two teams
            session.add(TeamMember(team_id=teams[(i + 1) % len(teams)].id, user_id=user.id))
        volunteers.append((user, code))

    patrol_count = 0
    active = [(u, c) for u, c in volunteers if u.status == "active"]
    today = now.astimezone(SHANGHAI).date()
    for days_ago in range(history_days, 0, -1):
        day = today - timedelta(days=days_ago)
        for user, code in rng.sample(active, k=rng.randint(5, 9)):
            start_local = datetime.combine(day, time(rng.randint(7, 19), rng.choice((0, 15, 30, 45))), SHANGHAI)
            started = start_local.astimezone(now.tzinfo)
            duration = timedelta(minutes=rng.randint(35, 130))
            route, stops = routes[code]
            patrol = Patrol(client_id=f"demo-patrol-{patrol_count}", fingerprint="demo", user_id=user.id,
                            station_id=user.station_id, route_id=route.id, started_at=started, ended_at=started + duration, received_at=started)
            session.add(patrol)
            session.flush()
            visited = stops if rng.random() < 0.7 else stops[: rng.randint(1, len(stops) - 1)]
            for n, cp in enumerate(visited, start=1):
                at = started + duration * n / (len(visited) + 1)
                session.add(CheckIn(
                    client_id=f"demo-checkin-{patrol.id}-{cp.id}", fingerprint="demo", patrol_id=patrol.id,
                    checkpoint_id=cp.id, method="gps", lat=round(cp.lat + rng.uniform(-0.0002, 0.0002), 7),
                    lon=round(cp.lon + rng.uniform(-0.0002, 0.0002), 7), accuracy_m=rng.randint(5, 30),
                    distance_m=round(rng.uniform(3, cp.radius_m * 0.8), 1), recorded_at=at, received_at=at, flags=[]))
            patrol_count += 1
    officers = {"G1": officer1, "G2": officer1, "G3": officer2, "G4": officer2}
    users_by_number = {int(u.phone[-3:]): u for u, _code in volunteers}
    hazard_count = add_hazards(session, station=station, grid_by_code=grid_by_code, officers=officers,
                               coordinator=coordinator, users_by_number=users_by_number, now=now, rng=rng, store=store)
    session.commit()
    add_school_gate_duty(session, now=now)
    add_patrol_shifts(session, now=now)
    add_patrols_now(session, routes=routes, now=now)
    add_service_history(session, now=now)
    add_certificates(session, now=now)
    add_commendations(session, now=now)
    return {"station": station.name, "grids": len(grid_by_code), "volunteers": len(volunteers),
            "patrols": patrol_count, "hazards": hazard_count}


def add_school_gate_duty(session: Session, *, now: datetime | None = None) -> Duty:
    """The demo town's 护学岗 at 青石小学校门 (G1, Mon–Fri mornings and afternoons, 2 people), this week and next,
    with some shifts taken and some left open so the week view shows gaps."""
    now = now or utcnow()
    grid = session.exec(select(Grid).where(Grid.code == "G1")).one()
    officer = session.exec(select(User).where(User.phone == "13800000101")).one()
    gate = session.exec(select(Checkpoint).where(Checkpoint.grid_id == grid.id, Checkpoint.name == "青石小学校门")).one()
    monday = duties.monday_of(localtime.today(now))
    duty = Duty(station_id=grid.station_id, grid_id=grid.id, created_by_id=officer.id, kind="school_gate",
                title="护学岗", place=gate.name, checkpoint_id=gate.id, weekdays=[0, 1, 2, 3, 4],
                windows=[["07:20", "08:00"], ["16:30", "17:20"]], first_day=monday,
                last_day=monday + timedelta(days=180), capacity=2)
    session.add(duty)
    session.flush()
    made = duties.generate(session, user=officer, duty=duty, first=monday, last=monday + timedelta(days=13))
    # 13800000201, the volunteer people log in as, is left free: their list starts empty and they can claim a post.
    people = list(session.exec(select(User).where(User.home_grid_id == grid.id, User.role == "volunteer",
                                                  User.status == "active", User.phone != "13800000201")
                               .order_by(User.phone)))
    for n, task in enumerate(made):
        taken = (2, 1, 2, 0, 1)[n % 5]  # a steady mix of full, half-empty and empty posts
        for k in range(taken):
            person = people[(n + k) % len(people)]
            past = task.ends_at <= now
            session.add(Assignment(task_id=task.id, volunteer_id=person.id, state="verified" if past else "accepted",
                                   answered_at=task.created_at))
    session.commit()
    return duty


# Two volunteers out on patrol right now, so the officer's dashboard has someone to show on first start. They are
# people the tests never log in as (205 in G1, 213 in G3); 201 and 211 stay free to start their own patrol.
ON_PATROL_NOW = (("13800000205", "G1"), ("13800000213", "G3"))
PATROL_WINDOWS = [["08:00", "11:00"], ["14:00", "17:00"], ["19:00", "21:00"]]


def add_patrol_shifts(session: Session, *, now: datetime) -> None:
    """A daily 网格巡逻 duty in G1 and G3 (three windows a day, 2 people), from last week to two weeks ahead: past
    shifts were done by one person, so the dashboard and coverage show points visited and missed."""
    today = now.astimezone(SHANGHAI).date()
    for code, officer_phone in (("G1", "13800000101"), ("G3", "13800000102")):
        grid = session.exec(select(Grid).where(Grid.code == code)).one()
        officer = session.exec(select(User).where(User.phone == officer_phone)).one()
        duty = Duty(station_id=grid.station_id, grid_id=grid.id, created_by_id=officer.id, kind="patrol",
                    title="网格巡逻", place=grid.name, weekdays=list(range(7)), windows=PATROL_WINDOWS,
                    first_day=today - timedelta(days=7), last_day=today + timedelta(days=90), capacity=2)
        session.add(duty)
        session.flush()
        made = duties.generate(session, user=officer, duty=duty, first=today - timedelta(days=6),
                               last=today + timedelta(days=13))
        people = list(session.exec(select(User).where(User.home_grid_id == grid.id, User.role == "volunteer",
                                                      User.status == "active").order_by(User.phone)))
        on_patrol = {phone for phone, c in ON_PATROL_NOW if c == code}
        post = session.exec(select(Checkpoint).where(Checkpoint.grid_id == grid.id).order_by(Checkpoint.id)).first()
        for n, task in enumerate(made):
            # Most shifts were marked done with the phone's location; one in five with none (the officer sees a flag).
            where = {} if n % 5 == 4 else {"lat": post.lat, "lon": post.lon, "accuracy_m": 12.0}
            if task.ends_at <= now - timedelta(hours=24):
                person = people[n % len(people)]
                session.add(Assignment(task_id=task.id, volunteer_id=person.id, state="verified",
                                       answered_at=task.created_at, done_at=task.ends_at, verified_at=task.ends_at,
                                       **where))
            elif task.ends_at <= now:  # the last day's shifts: done, waiting for the officer to verify them
                person = people[n % len(people)]
                session.add(Assignment(task_id=task.id, volunteer_id=person.id, state="done",
                                       answered_at=task.created_at, done_at=task.ends_at, **where))
            elif task.starts_at <= now:  # the shift on now: the volunteer out on patrol holds it
                for person in people:
                    if person.phone in on_patrol:
                        session.add(Assignment(task_id=task.id, volunteer_id=person.id, state="accepted",
                                               answered_at=task.created_at))
    session.commit()


def add_patrols_now(session: Session, *, routes: dict, now: datetime) -> None:
    """Patrols started 40 minutes ago, checked in at their route's first point, with a breadcrumb every 5 minutes."""
    for phone, code in ON_PATROL_NOW:
        user = session.exec(select(User).where(User.phone == phone)).one()
        route, stops = routes[code]
        started = now - timedelta(minutes=40)
        patrol = Patrol(client_id=f"demo-patrol-now-{phone}", fingerprint="demo", user_id=user.id,
                        station_id=user.station_id, route_id=route.id,
                        started_at=started, received_at=started)
        session.add(patrol)
        session.flush()
        first, second = stops[0], stops[1]
        at = started + timedelta(minutes=12)
        session.add(CheckIn(client_id=f"demo-checkin-now-{phone}", fingerprint="demo", patrol_id=patrol.id,
                            checkpoint_id=first.id, method="gps", lat=first.lat, lon=first.lon, accuracy_m=12,
                            distance_m=4.0, recorded_at=at, received_at=at, flags=[]))
        for n in range(8):  # walking from the first point towards the second
            f = n / 7
            session.add(PatrolPosition(client_id=f"demo-track-{phone}", seq=n, fingerprint="demo", patrol_id=patrol.id,
                                       lat=round(first.lat + (second.lat - first.lat) * f, 7),
                                       lon=round(first.lon + (second.lon - first.lon) * f, 7), accuracy_m=15,
                                       recorded_at=started + timedelta(minutes=5 * n), received_at=now))
    session.commit()


def add_service_history(session: Session, *, now: datetime) -> int:
    """Records for the town's ended patrols and verified shifts, the older ones (over a week) mostly approved by
    their grid's officer, a few rejected, the last week pending (so the approval queue is never empty, even on the 1st);
    training hours in the latest month that ended before that week, approved, and that month certified."""
    made = 0
    for patrol in session.exec(select(Patrol).where(Patrol.ended_at.is_not(None)).order_by(Patrol.started_at)).all():
        made += hours.from_patrol(session, patrol) is not None
    for assignment in session.exec(select(Assignment).where(Assignment.state == "verified").order_by(Assignment.id)).all():
        made += hours.from_assignment(session, assignment) is not None
    session.flush()
    officer_of = {grid: officer for grid, officer in session.exec(select(GridOfficer.grid_id, GridOfficer.user_id)).all()}
    week_ago = now - timedelta(days=7)
    for n, record in enumerate(session.exec(select(ServiceRecord).where(
            ServiceRecord.starts_at < week_ago, ServiceRecord.status == "pending")
                                            .order_by(ServiceRecord.id)).all()):
        rejected = n % 17 == 5
        record.status = "rejected" if rejected else "approved"
        record.rejection_reason = "巡逻记录与签到不符" if rejected else ""
        record.decided_by_id, record.decided_at = officer_of.get(record.grid_id), record.starts_at + timedelta(days=2)
        session.add(record)
    station = session.exec(select(User.station_id).where(User.role == "coordinator")).first()
    coordinator = session.exec(select(User).where(User.role == "coordinator")).first()
    done_month_day = week_ago.astimezone(SHANGHAI).date().replace(day=1) - timedelta(days=1)  # nothing pending there
    training = datetime.combine(done_month_day.replace(day=15), time(9), SHANGHAI).astimezone(timezone.utc)
    people = session.exec(select(User).where(User.role == "volunteer", User.status == "active").order_by(User.id)).all()
    for person in people:
        session.add(ServiceRecord(station_id=station, volunteer_id=person.id, grid_id=person.home_grid_id,
                                  source="manual", starts_at=training, ends_at=training + timedelta(hours=3),
                                  month=localtime.month_of(training), minutes=180, status="approved",
                                  reason="消防安全培训",
                                  created_by_id=coordinator.id, decided_by_id=officer_of.get(person.home_grid_id),
                                  decided_at=training + timedelta(days=1)))
        made += 1
    session.add(MonthCertification(station_id=station, month=localtime.month_of(training),
                                   certified_by_id=coordinator.id, certified_at=training + timedelta(days=20)))
    session.commit()
    return made


def add_certificates(session: Session, *, now: datetime) -> list[Certificate]:
    """An issued certificate for volunteer 201, and one for 206 still in notice with an open objection."""
    coordinator = session.exec(select(User).where(User.role == "coordinator").order_by(User.id)).first()
    first = (localtime.local_day(now).replace(day=1) - timedelta(days=1)).replace(day=1)  # the first day of last month
    made = []
    for phone, days_ago in (("13800000201", 9), ("13800000206", 2)):
        person = session.exec(select(User).where(User.phone == phone)).one()
        published = now - timedelta(days=days_ago)
        made.append(certificates.publish(session, user=coordinator, now=published, notice_days=7, data={
            "volunteer_id": person.id, "period_from": first.isoformat(),
            "period_to": localtime.local_day(published).isoformat()}))
    certificates.issue(session, user=coordinator, certificate_id=made[0].id, now=now - timedelta(days=1))
    neighbour = session.exec(select(User).where(User.phone == "13800000207")).one()
    certificates.object_to(session, user=neighbour, certificate_id=made[1].id,
                           data={"text": "上月培训那天他请假了，时长可能多算了三小时。"})
    return made


def add_commendations(session: Session, *, now: datetime) -> list[Commendation]:
    """A silk banner from the market's shopkeepers for volunteer 201, and a station commendation for a team."""
    coordinator = session.exec(select(User).where(User.role == "coordinator").order_by(User.id)).first()
    volunteer = session.exec(select(User).where(User.phone == "13800000201")).one()
    team = session.exec(select(Team).where(Team.station_id == coordinator.station_id).order_by(Team.id)).first()
    today = localtime.today(now)
    banner, _ = commendations.record(session, user=coordinator, now=now, data={
        "volunteer_id": volunteer.id, "kind": "banner", "title": "热心巡逻 守护平安", "given_by": "东街菜场商户",
        "awarded_on": (today - timedelta(days=12)).isoformat(), "note": "夜间巡逻时帮助商户发现电线老化隐患。"})
    praise, _ = commendations.record(session, user=coordinator, now=now, data={
        "team_id": team.id, "kind": "commendation", "title": "优秀平安志愿服务队", "given_by": "青石镇派出所",
        "awarded_on": (today - timedelta(days=30)).isoformat()})
    return [banner, praise]
