"""Province-scale data on PostgreSQL, generated with set-based SQL (issue #13).

    .venv/bin/python bench/province.py --pg postgresql://postgres@127.0.0.1:55433/province --scale 0.1
    .venv/bin/python bench/province.py --pg URL --scale 1.0      # 100 stations, 300,000 volunteers, 10 M check-ins

The `public` schema of that database is DROPPED and re-created, the schema is made by the project's own Alembic
migrations (`flask --app app init-db`), then every table is filled with INSERT … SELECT over generate_series.
While loading, the secondary indexes and unique constraints are dropped and foreign-key triggers are off
(session_replication_role = replica); they are all re-created afterwards, then VACUUM ANALYZE.

--scale 1.0 (the figures of issue #13):
  100 stations × 40 grids (square polygons of 0.01°, a 50 × 80 lattice) × 5 must-visit points inside each, one route
  per grid through its 5 points; per station 10 officers (4 grids each), 1 coordinator, 3,000 volunteers (home grid =
  their grid membership; 97 % active, 2 % pending, 1 % suspended) in 30 teams (a third in two teams);
  2,000,000 patrols over the last 365 days (volunteers skewed: a few patrol every few days, most rarely), 5 check-ins
  each (10,000,000, at the route's points, GPS or QR, a few flagged), a checkin.create + patrol.start audit event each;
  1,000,000 hazards/clues (recent ones in every open state, older ones mostly closed / rejected / duplicate) with
  their full event chain (~5 per hazard), a hazard.<state> audit event and a notification per hazard;
  200,000 tasks with 1–3 assignments each (past: verified/done/no_show/declined; the next 14 days: offered/accepted);
  3,000,000 service records (one per ended patrol, one per done/verified assignment, the rest manual; older than a
  week 95 % approved, the last week mostly pending), months older than last month certified.
Station counts scale with --scale (10 stations at 0.1), so each station always has the same size and only the
province around it grows.

Known accounts of station 1 (password bench1234, as everyone's): officer 13700000001 (grids 1–4),
coordinator 13700000002, volunteer 13700000003 (home grid 1, the busiest volunteer of the station).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PASSWORD = "bench1234"
OFFICER, COORDINATOR, VOLUNTEER = "13700000001", "13700000002", "13700000003"
GPS, CPG, VPS, OPS, TPS = 40, 5, 3000, 10, 30  # per station: grids, checkpoints per grid, volunteers, officers, teams


def steps(scale: float, pw_hash: str) -> list[tuple[str, str]]:
    S = max(1, round(100 * scale))
    f = S / 100  # the real scale: whole stations
    V = S * VPS
    P = round(2_000_000 * f)
    H = round(1_000_000 * f)
    T = round(200_000 * f)
    SR = round(3_000_000 * f)
    off = V  # officers are users V+1 .. V+S*OPS
    coord = V + S * OPS  # coordinators V+S*OPS+1 .. +S
    # the officer who holds grid g: its station's officer number ((g-1) % 40) / 4
    officer_of = lambda g: f"({off} + (({g}) - 1) / {GPS} * {OPS} + ((({g}) - 1) % {GPS}) / 4 + 1)"
    # a volunteer's home grid
    home_of = lambda v: f"(((({v}) - 1) / {VPS}) * {GPS} + ((({v}) - 1) % {VPS}) % {GPS} + 1)"
    # a volunteer of station st, skewed towards the low numbers (the busy ones)
    skewed = lambda st: f"((({st}) - 1) * {VPS} + 1 + floor({VPS} * power(random(), 1.6))::int)"
    loc = "Asia/Shanghai"
    return [
        ("station", f"""
INSERT INTO station (id, code, name)
SELECT s, 'PS' || lpad(s::text, 3, '0'), (ARRAY['城关','江南','北山','新城','东湖','西溪','临江','南塘','凤凰','青石'])[s % 10 + 1]
       || '派出所' || s
FROM generate_series(1, {S}) s"""),
        ("grid", f"""
INSERT INTO grid (id, station_id, code, name, boundary)
SELECT g, st, 'G' || li, (ARRAY['幸福','和平','人民','解放','建设','文化','光明','新华'])[li % 8 + 1] || '社区第' || li || '网格',
       json_build_object('type', 'Polygon', 'coordinates', json_build_array(json_build_array(
         json_build_array(w, s), json_build_array(w + 0.01, s), json_build_array(w + 0.01, s + 0.01),
         json_build_array(w, s + 0.01), json_build_array(w, s))))
FROM (SELECT g, (g - 1) / {GPS} + 1 AS st, (g - 1) % {GPS} + 1 AS li,
             round((29.5 + (((g - 1) / {GPS}) / 10 * 5 + ((g - 1) % {GPS}) / 8) * 0.01)::numeric, 6)::float8 AS s,
             round((119.5 + (((g - 1) / {GPS}) % 10 * 8 + ((g - 1) % {GPS}) % 8) * 0.01)::numeric, 6)::float8 AS w
      FROM generate_series(1, {S * GPS}) g) x"""),
        ("checkpoint + route + route_stop", f"""
INSERT INTO checkpoint (id, grid_id, name, lat, lon, radius_m, qr_secret)
SELECT c, x.gid, (ARRAY['小区东门','菜市场','学校门口','公交站','商业街口','河边步道','卫生院','桥头'])[(c * 7) % 8 + 1] || k,
       (g.boundary #>> '{{coordinates,0,0,1}}')::float8 + 0.002 + 0.006 * random(),
       (g.boundary #>> '{{coordinates,0,0,0}}')::float8 + 0.002 + 0.006 * random(),
       50, md5('qr' || c)
FROM (SELECT c, (c - 1) / {CPG} + 1 AS gid, (c - 1) % {CPG} + 1 AS k FROM generate_series(1, {S * GPS * CPG}) c) x
JOIN grid g ON g.id = x.gid;
INSERT INTO route (id, grid_id, name) SELECT g, g, '必巡线' || ((g - 1) % {GPS} + 1) FROM generate_series(1, {S * GPS}) g;
INSERT INTO route_stop (route_id, position, checkpoint_id)
SELECT g, k, (g - 1) * {CPG} + k FROM generate_series(1, {S * GPS}) g, generate_series(1, {CPG}) k"""),
        ("user", f"""
INSERT INTO "user" (id, station_id, phone, name, password_hash, role, status, home_grid_id, created_at, must_change_password)
SELECT v, (v - 1) / {VPS} + 1, CASE WHEN v = 1 THEN '{VOLUNTEER}' ELSE '1' || lpad(v::text, 10, '0') END,
       (ARRAY['王','李','张','刘','陈','杨','赵','黄','周','吴','徐','孙','马','朱','胡'])[v % 15 + 1] ||
       (ARRAY['伟','芳','娜','敏','静','丽','强','磊','军','洋','勇','艳','杰','娟','涛','明','超','秀英','华','建国'])[(v / 15) % 20 + 1],
       '{pw_hash}', 'volunteer',
       CASE WHEN v > 1 AND v % 50 = 0 THEN 'pending' WHEN v > 1 AND v % 97 = 0 THEN 'suspended' ELSE 'active' END,
       {home_of('v')}, now() - interval '400 days' + random() * interval '30 days', false
FROM generate_series(1, {V}) v;
INSERT INTO "user" (id, station_id, phone, name, password_hash, role, status, created_at, must_change_password)
SELECT u, (u - {off} - 1) / {OPS} + 1, CASE WHEN u = {off + 1} THEN '{OFFICER}' ELSE '1' || lpad(u::text, 10, '0') END,
       (ARRAY['陈','林','郑','何','罗'])[u % 5 + 1] || '警官' || ((u - {off} - 1) % {OPS} + 1),
       '{pw_hash}', 'officer', 'active', now() - interval '500 days', false
FROM generate_series({off + 1}, {off + S * OPS}) u;
INSERT INTO "user" (id, station_id, phone, name, password_hash, role, status, created_at, must_change_password)
SELECT u, u - {coord}, CASE WHEN u = {coord + 1} THEN '{COORDINATOR}' ELSE '1' || lpad(u::text, 10, '0') END,
       '协调员' || (u - {coord}), '{pw_hash}', 'coordinator', 'active', now() - interval '500 days', false
FROM generate_series({coord + 1}, {coord + S}) u;
INSERT INTO grid_officer (grid_id, user_id) SELECT g, {officer_of('g')} FROM generate_series(1, {S * GPS}) g"""),
        ("team + team_member", f"""
INSERT INTO team (id, station_id, name, kind, leader_id)
SELECT t, (t - 1) / {TPS} + 1, (ARRAY['义警队','红袖标巡逻队','护学岗队','十户联防','最小应急单元'])[(t - 1) % 5 + 1] || ((t - 1) % {TPS} + 1) || '队',
       (ARRAY['auxiliary','red_armband','school_gate','joint_defence','emergency_unit'])[(t - 1) % 5 + 1],
       ((t - 1) / {TPS}) * {VPS} + (t - 1) % {TPS} + 1
FROM generate_series(1, {S * TPS}) t;
INSERT INTO team_member (team_id, user_id)
SELECT ((v - 1) / {VPS}) * {TPS} + ((v - 1) % {VPS}) % {TPS} + 1, v FROM generate_series(1, {V}) v
UNION ALL
SELECT ((v - 1) / {VPS}) * {TPS} + (((v - 1) % {VPS}) + 7) % {TPS} + 1, v FROM generate_series(1, {V}) v WHERE ((v - 1) % {VPS}) % 3 = 0"""),
        ("patrol", f"""
INSERT INTO patrol (id, client_id, fingerprint, user_id, station_id, route_id, started_at, ended_at, received_at)
SELECT i, md5('p' || i)::uuid::text, md5('pf' || i), v, (v - 1) / {VPS} + 1, {home_of('v')}, t,
       t + (60 + 60 * random()) * interval '1 minute', t
FROM (SELECT i, {skewed('1 + (i - 1) % ' + str(S))} AS v,
             date_trunc('second', now() - random() * interval '365 days') AS t
      FROM generate_series(1, {P}) i) x;
-- the last hour's patrols of each volunteer are still going (at most one open per person)
UPDATE patrol SET ended_at = NULL WHERE id IN (
  SELECT DISTINCT ON (user_id) id FROM patrol WHERE started_at > now() - interval '60 minutes' AND user_id <> 1
  ORDER BY user_id, started_at DESC)"""),
        ("checkin", f"""
INSERT INTO checkin (id, client_id, fingerprint, patrol_id, checkpoint_id, method, lat, lon, accuracy_m, distance_m,
                     recorded_at, received_at, flags)
SELECT (p.id - 1) * {CPG} + k, md5('c' || p.id || '-' || k)::uuid::text, md5('cf' || p.id || '-' || k), p.id, c.id,
       CASE WHEN r < 0.85 THEN 'gps' ELSE 'qr' END,
       c.lat + (random() - 0.5) * 0.0004, c.lon + (random() - 0.5) * 0.0004, 5 + 25 * random(), round((40 * random())::numeric, 1),
       p.started_at + k * interval '11 minutes', p.started_at + k * interval '11 minutes' + interval '2 seconds',
       CASE WHEN r > 0.995 THEN '["clock_skew"]' WHEN r > 0.99 THEN '["repeated_coordinates"]' ELSE '[]' END::json
FROM patrol p CROSS JOIN LATERAL (SELECT k, random() AS r FROM generate_series(1, {CPG}) k) kk
JOIN checkpoint c ON c.id = (p.route_id - 1) * {CPG} + kk.k
WHERE p.started_at + k * interval '11 minutes' <= now()"""),
        ("hazard", f"""
INSERT INTO hazard (id, client_id, fingerprint, station_id, grid_id, reporter_id, kind, category, description, lat, lon,
                    accuracy_m, address, status, priority, deadline, assignee_id, team_id, duplicate_of_id,
                    rectified_by_id, mediation_outcome, reported_at, updated_at, closed_at)
SELECT i, md5('h' || i)::uuid::text, md5('hf' || i), st, gid, rep,
       CASE WHEN r1 < 0.88 THEN 'hazard' ELSE 'clue' END, cat,
       (ARRAY['消防通道被杂物堵塞','楼道电动车充电','路灯损坏，夜间昏暗','井盖松动','邻里因停车发生纠纷','可疑人员多次徘徊','燃气管道老化'])[ci]
         || '，请尽快处理。', lat, lon, 5 + 20 * random(), '网格' || ((coalesce(gid, 1) - 1) % {GPS} + 1) || '附近',
       status, pri,
       CASE WHEN status = 'reported' THEN NULL ELSE t + (CASE pri WHEN 'urgent' THEN 1 WHEN 'high' THEN 3 WHEN 'normal' THEN 7 ELSE 14 END) * interval '1 day' END,
       CASE WHEN status IN ('assigned','rectifying','rectified','closed') THEN {skewed('st')} END,
       NULL, CASE WHEN status = 'duplicate' AND i > 1 THEN i - 1 END,
       CASE WHEN status IN ('rectified','closed') THEN rep END,
       CASE WHEN status = 'closed' AND cat = 'dispute' THEN 'mediated' END,
       t, upd, CASE WHEN status = 'closed' THEN upd END  -- the closed event's time (hazard_event below)
FROM (SELECT i, st, gid, {skewed('st')} AS rep, r1, ci,
             (ARRAY['fire','gas_electric','traffic','public_order','dispute','suspicious','other'])[ci] AS cat,
             CASE WHEN r2 < 0.05 THEN 'urgent' WHEN r2 < 0.2 THEN 'high' WHEN r2 < 0.8 THEN 'normal' ELSE 'low' END AS pri,
             t, age, t + interval '1 day' * least(age, 5 * random()) AS upd,
             CASE WHEN gid IS NULL AND age < 14 THEN 'reported'
                  WHEN age < 14 THEN (ARRAY['reported','reported','accepted','assigned','assigned','rectifying','rectifying',
                                            'rectified','rectified','closed'])[1 + floor(10 * r3)::int]
                  WHEN r3 < 0.82 THEN 'closed' WHEN r3 < 0.90 THEN 'rejected' WHEN r3 < 0.94 THEN 'duplicate'
                  WHEN r3 < 0.97 THEN 'rectifying' WHEN r3 < 0.99 THEN 'assigned' ELSE 'rectified' END AS status,
             lat, lon
      FROM (SELECT i, st, CASE WHEN random() < 0.05 THEN NULL ELSE gid END AS gid, random() AS r1, random() AS r2,
                   random() AS r3, 1 + floor(7 * random())::int AS ci, t, extract(epoch FROM now() - t) / 86400 AS age,
                   29.5 + ((st - 1) / 10 * 5 + ((gid - 1) % {GPS}) / 8) * 0.01 + 0.01 * random() AS lat,
                   119.5 + ((st - 1) % 10 * 8 + ((gid - 1) % {GPS}) % 8) * 0.01 + 0.01 * random() AS lon
            FROM (SELECT i, 1 + (i - 1) % {S} AS st, date_trunc('second', now() - random() * interval '365 days') AS t,
                         floor({GPS} * random())::int AS gl FROM generate_series(1, {H}) i) a
            CROSS JOIN LATERAL (SELECT (a.st - 1) * {GPS} + a.gl + 1 AS gid) b) c) d"""),
        ("hazard_event", f"""
INSERT INTO hazard_event (hazard_id, actor_id, at, from_status, to_status, note, detail)
SELECT h.id, CASE WHEN e = 1 THEN h.reporter_id WHEN chain[e] IN ('rectifying','rectified') THEN coalesce(h.assignee_id, h.reporter_id)
                  ELSE {officer_of('coalesce(h.grid_id, (h.station_id - 1) * ' + str(GPS) + ' + 1)')} END,
       h.reported_at + (h.updated_at - h.reported_at) * (e - 1) / 5.0,
       CASE WHEN e > 1 THEN chain[e - 1] END, chain[e],
       CASE WHEN chain[e] = 'rejected' THEN '不属于辖区事项' WHEN chain[e] = 'closed' THEN '已复查，整改到位' ELSE '' END, '{{}}'
FROM (SELECT h.*, CASE h.status WHEN 'rejected' THEN ARRAY['reported','rejected'] WHEN 'duplicate' THEN ARRAY['reported','duplicate']
                       ELSE ARRAY['reported','accepted','assigned','rectifying','rectified','closed'] END AS chain,
             CASE h.status WHEN 'reported' THEN 1 WHEN 'accepted' THEN 2 WHEN 'assigned' THEN 3 WHEN 'rectifying' THEN 4
                           WHEN 'rectified' THEN 5 WHEN 'closed' THEN 6 ELSE 2 END AS n
      FROM hazard h) h
CROSS JOIN LATERAL generate_series(1, h.n) e"""),
        ("task + assignment", f"""
INSERT INTO task (id, client_id, fingerprint, station_id, grid_id, team_id, created_by_id, kind, title, notes, place,
                  starts_at, ends_at, capacity, created_at)
SELECT i, md5('t' || i)::uuid::text, md5('tf' || i), st, g, CASE WHEN random() < 0.5 THEN (st - 1) * {TPS} + 1 + floor({TPS} * random())::int END,
       {officer_of('g')}, kind,
       CASE kind WHEN 'patrol' THEN '网格巡逻' WHEN 'school_gate' THEN '护学岗' WHEN 'publicity' THEN '反诈宣传'
                 WHEN 'event_security' THEN '活动安保' WHEN 'home_visit' THEN '入户走访' ELSE '隐患跟进' END,
       '', '网格' || ((g - 1) % {GPS} + 1), s, s + (40 + 20 * floor(7 * random())) * interval '1 minute', cap, s - interval '3 days'
FROM (SELECT i, st, (st - 1) * {GPS} + 1 + floor({GPS} * random())::int AS g,
             (ARRAY['patrol','patrol','school_gate','publicity','event_security','home_visit','hazard_followup'])[1 + floor(7 * random())::int] AS kind,
             1 + floor(3 * random())::int AS cap,
             ((date_trunc('day', (now() AT TIME ZONE '{loc}') - interval '351 days' + random() * interval '365 days')
               + (ARRAY[interval '7 hours 20 minutes', interval '9 hours', interval '16 hours 30 minutes', interval '19 hours'])[1 + floor(4 * random())::int])
              AT TIME ZONE '{loc}') AS s
      FROM (SELECT i, 1 + (i - 1) % {S} AS st FROM generate_series(1, {T}) i) a) b;
INSERT INTO assignment (task_id, volunteer_id, state, reason, reach, offered_at, answered_at, done_at, verified_at, verified_by_id)
SELECT t.id, v, state, '', '{{}}', t.created_at,
       CASE WHEN state <> 'offered' THEN t.created_at + interval '5 hours' END,
       CASE WHEN state IN ('done','verified') THEN t.ends_at END,
       CASE WHEN state = 'verified' THEN t.ends_at + interval '1 day' END,
       CASE WHEN state = 'verified' THEN t.created_by_id END
FROM (SELECT t.*, k, (t.station_id - 1) * {VPS} + (t.grid_id - 1) % {GPS} + {GPS} * ((base + k * 17) % 75) + 1 AS v,
             CASE WHEN t.starts_at > now() THEN (CASE WHEN r < 0.4 THEN 'offered' ELSE 'accepted' END)
                  WHEN r < 0.70 THEN 'verified' WHEN r < 0.78 THEN 'done' WHEN r < 0.83 THEN 'no_show'
                  WHEN r < 0.90 THEN 'declined' ELSE 'accepted' END AS state
      FROM (SELECT t.*, floor(75 * random())::int AS base FROM task t) t
      CROSS JOIN LATERAL (SELECT k, random() AS r FROM generate_series(1, t.capacity) k) kk) t"""),
        ("service_record", f"""
INSERT INTO service_record (station_id, volunteer_id, grid_id, source, patrol_id, starts_at, ends_at, month, minutes, status,
                            flags, reason, rejection_reason, created_at, decided_by_id, decided_at)
SELECT (p.user_id - 1) / {VPS} + 1, p.user_id, p.route_id, 'patrol', p.id, p.started_at, p.ended_at,
       to_char(p.started_at AT TIME ZONE '{loc}', 'YYYY-MM'), extract(epoch FROM p.ended_at - p.started_at)::int / 60, st, '[]', '',
       CASE WHEN st = 'rejected' THEN '轨迹不完整' ELSE '' END, p.ended_at,
       CASE WHEN st <> 'pending' THEN {officer_of('p.route_id')} END, CASE WHEN st <> 'pending' THEN p.ended_at + interval '1 day' END
FROM (SELECT p.*, CASE WHEN p.started_at > now() - interval '7 days' THEN (CASE WHEN random() < 0.8 THEN 'pending' ELSE 'approved' END)
                       ELSE (CASE WHEN random() < 0.95 THEN 'approved' WHEN random() < 0.6 THEN 'rejected' ELSE 'pending' END) END AS st
      FROM patrol p WHERE p.ended_at IS NOT NULL) p;
INSERT INTO service_record (station_id, volunteer_id, grid_id, source, assignment_id, starts_at, ends_at, month, minutes, status,
                            flags, reason, rejection_reason, created_at, decided_by_id, decided_at)
SELECT t.station_id, a.volunteer_id, t.grid_id, 'assignment', a.id, t.starts_at, t.ends_at,
       to_char(t.starts_at AT TIME ZONE '{loc}', 'YYYY-MM'), extract(epoch FROM t.ends_at - t.starts_at)::int / 60,
       CASE WHEN t.starts_at > now() - interval '7 days' THEN 'pending' ELSE 'approved' END, '[]', '', '', a.done_at,
       CASE WHEN t.starts_at <= now() - interval '7 days' THEN t.created_by_id END,
       CASE WHEN t.starts_at <= now() - interval '7 days' THEN t.ends_at + interval '1 day' END
FROM assignment a JOIN task t ON t.id = a.task_id WHERE a.state IN ('done','verified');
INSERT INTO service_record (station_id, volunteer_id, grid_id, source, client_id, fingerprint, starts_at, ends_at, month, minutes, status,
                            flags, reason, rejection_reason, created_at, created_by_id, decided_by_id, decided_at)
SELECT st, v, {home_of('v')}, 'manual', md5('m' || i)::uuid::text, md5('mf' || i), s, s + m * interval '1 minute',
       to_char(s AT TIME ZONE '{loc}', 'YYYY-MM'), m,
       CASE WHEN s > now() - interval '7 days' THEN 'pending' WHEN random() < 0.96 THEN 'approved' ELSE 'rejected' END,
       '[]', '社区活动（线下登记）', '', s + m * interval '1 minute', {officer_of(home_of('v'))},
       CASE WHEN s <= now() - interval '7 days' THEN {officer_of(home_of('v'))} END,
       CASE WHEN s <= now() - interval '7 days' THEN s + interval '2 days' END
FROM (SELECT i, st, {skewed('st')} AS v, 60 + 30 * floor(5 * random())::int AS m,
             date_trunc('minute', now() - random() * interval '365 days') AS s
      FROM (SELECT i, 1 + (i - 1) % {S} AS st
            FROM generate_series(1, greatest(0, {SR} - (SELECT count(*) FROM service_record))::int) i) a) b;
INSERT INTO month_certification (station_id, month, certified_by_id, certified_at)
SELECT st, to_char(m, 'YYYY-MM'), {coord} + st, m + interval '1 month 5 days'
FROM generate_series(1, {S}) st,
     generate_series(date_trunc('month', now() AT TIME ZONE '{loc}') - interval '12 months',
                     date_trunc('month', now() AT TIME ZONE '{loc}') - interval '2 months', interval '1 month') m"""),
        ("notification", f"""
INSERT INTO notification (user_id, created_at, message, params, link, read_at)
SELECT reporter_id, updated_at, 'Your report #%(id)d is now: %(status)s.',
       json_build_object('id', id, 'status', initcap(status)), '/hazards/' || id,
       CASE WHEN updated_at < now() - interval '3 days' OR random() < 0.5 THEN updated_at + interval '3 hours' END
FROM hazard WHERE reporter_id IS NOT NULL"""),
        ("audit_event", f"""
INSERT INTO audit_event (at, actor_id, action, object_type, object_id, ip, detail)
SELECT c.received_at, p.user_id, 'checkin.create', 'checkin', c.id, '10.' || (p.user_id % 250) || '.' || (c.id % 250) || '.1',
       json_build_object('checkpoint_id', c.checkpoint_id, 'flags', c.flags)
FROM checkin c JOIN patrol p ON p.id = c.patrol_id;
INSERT INTO audit_event (at, actor_id, action, object_type, object_id, ip, detail)
SELECT received_at, user_id, 'patrol.start', 'patrol', id, '10.0.0.1', '{{}}' FROM patrol;
INSERT INTO audit_event (at, actor_id, action, object_type, object_id, ip, detail)
SELECT at, actor_id, CASE WHEN to_status = 'reported' THEN 'hazard.report' ELSE 'hazard.' || to_status END, 'hazard', hazard_id,
       '10.0.0.2', json_build_object('note', note)
FROM hazard_event"""),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pg", required=True, metavar="URL", help="PostgreSQL URL (its public schema is DROPPED)")
    ap.add_argument("--scale", type=float, default=0.1, help="1.0 = the issue's figures (default 0.1)")
    args = ap.parse_args()

    import psycopg

    from volunteers import accounts
    from volunteers.db import normalise_url

    t_all = time.monotonic()
    env = dict(os.environ, DATABASE_URL=args.pg, SECRET_KEY="bench", VOLUNTEERS_DATA_DIR="/tmp/province-data")
    os.makedirs(env["VOLUNTEERS_DATA_DIR"], exist_ok=True)
    conninfo = normalise_url(args.pg).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    flask = str(Path(sys.executable).with_name("flask"))
    subprocess.run([flask, "--app", "app", "init-db"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    print(f"== schema by the migrations (flask init-db): {time.monotonic() - t_all:.1f} s", flush=True)

    pw_hash = accounts.hash_password(PASSWORD)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        # Keep the primary keys; drop every other index and unique constraint, re-create them after loading.
        uniques = conn.execute("""
            SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
            JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public' AND c.contype = 'u'""").fetchall()
        for table, name, _ in uniques:
            conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        indexes = conn.execute("""
            SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'
            AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))""").fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        conn.execute("SET session_replication_role = replica")  # no FK triggers while loading
        conn.execute("SET work_mem = '256MB'")
        conn.execute("SELECT setseed(0.13)")
        t_load = time.monotonic()
        for name, sql in steps(args.scale, pw_hash):
            t = time.monotonic()
            for stmt in sql.split(";\n"):
                if stmt.strip():
                    conn.execute(stmt)
            print(f"   {name:32} {time.monotonic() - t:7.1f} s", flush=True)
        conn.execute("SET session_replication_role = origin")
        print(f"== rows loaded: {time.monotonic() - t_load:.1f} s", flush=True)
        t = time.monotonic()
        conn.execute("SET maintenance_work_mem = '1GB'")
        for table, name, definition in uniques:
            conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for name, definition in indexes:
            conn.execute(definition)
        # explicit ids were used: move every sequence past them
        for (table,) in conn.execute("""SELECT table_name FROM information_schema.columns
                                        WHERE table_schema = 'public' AND column_name = 'id'
                                        AND column_default LIKE 'nextval%%'""").fetchall():
            conn.execute(f"""SELECT setval(pg_get_serial_sequence('"{table}"', 'id'),
                                           coalesce((SELECT max(id) FROM "{table}"), 0) + 1, false)""")
        print(f"== indexes and unique constraints re-created: {time.monotonic() - t:.1f} s", flush=True)
        t = time.monotonic()
        conn.execute("VACUUM ANALYZE")
        print(f"== VACUUM ANALYZE: {time.monotonic() - t:.1f} s", flush=True)
        print("\n| table | rows |\n|---|---|")
        for (table,) in conn.execute("""SELECT tablename FROM pg_tables WHERE schemaname = 'public'
                                        ORDER BY tablename""").fetchall():
            n = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            if n:
                print(f"| {table} | {n:,} |")
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
    print(f"\n== scale {args.scale}: generated in {time.monotonic() - t_all:.0f} s; database size {size}")
    print(f"   station 1: officer {OFFICER}, coordinator {COORDINATOR}, volunteer {VOLUNTEER}; password {PASSWORD}")


if __name__ == "__main__":
    main()
