"""The city service on a real PostgreSQL: halls and managers from the CLI, sign-in, the
event intake (idempotent, gaps asked for again), and the city's figures equal to the
hall's own to the last digit."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import jsonschema
import psycopg
import pytest
import requests
from werkzeug.serving import make_server

from city_kit import ROOT, Postgres, free_port, qrate
from conftest import PASSWORD, Accounts, FakeClock
from server.app import create_app
from server.city import db as city_db
from server.city import stats as city_stats
from server.city.app import create_city_app
from server.readside import tables

TZ = ZoneInfo("Asia/Shanghai")
KEYS = city_stats.ROW_KEYS


@pytest.fixture(scope="module")
def postgres():
    pg = Postgres().start()
    yield pg
    pg.stop()


@pytest.fixture
def city_url(postgres):
    return postgres.new_database()


class InProcessCity:
    """The city app on a threaded WSGI server in this process (a real HTTP port)."""

    def __init__(self, url: str, clock=None):
        self.app = create_city_app(url, pool_size=4, clock=clock)
        self.server = make_server("127.0.0.1", free_port(), self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.app.extensions["city_pool"].close()


def add_hall_and_manager(url: str, name: str = "高新区政务服务中心") -> tuple[str, str]:
    out = qrate("city", "hall", "add", name, "--db", url).stdout.strip().splitlines()
    hall_id = next(line.split("=", 1)[1].strip() for line in out if line.startswith("hall_id"))
    return hall_id, out[-1]


def manager_headers(base: str, url: str, employee_no: str = "C9001") -> dict:
    qrate("city", "user", "add", employee_no, "--role", "manager", "--db", url,
          input_text=f"{PASSWORD}\n{PASSWORD}\n")
    r = requests.post(base + "/api/login", json={"user": employee_no, "password": PASSWORD}, timeout=5)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.mark.api
def test_halls_and_managers_come_from_the_cli_and_managers_sign_in(city_url):
    hall_id, token = add_hall_and_manager(city_url)
    assert hall_id == "H001" and len(token) > 30
    again = qrate("city", "hall", "add", "第二大厅", "--db", city_url).stdout.strip().splitlines()
    assert again[-2] == "hall_id = H002" and again[-1] != token
    qrate("city", "user", "add", "C1", "--role", "manager", "--db", city_url,
          input_text=f"{PASSWORD}\n{PASSWORD}\n")
    twice = qrate("city", "user", "add", "C1", "--role", "manager", "--db", city_url,
                  input_text=f"{PASSWORD}\n", check=False)
    assert twice.returncode != 0 and "C1" in twice.stderr and "Traceback" not in twice.stderr
    bad_db = qrate("city", "hall", "add", "X", "--db", "postgresql://postgres@127.0.0.1:1/none",
                   check=False)
    assert bad_db.returncode != 0 and "Traceback" not in bad_db.stderr
    client = create_city_app(city_url, pool_size=2).test_client()
    try:
        assert client.post("/api/login", json={"user": "C1", "password": "wrong-one"}).status_code == 401
        r = client.post("/api/login", json={"user": "C1", "password": PASSWORD})
        assert r.status_code == 200
        auth = {"Authorization": f"Bearer {r.get_json()['token']}"}
        assert client.get("/api/city/stats/halls").status_code == 401
        halls = client.get("/api/city/halls", headers=auth).get_json()["halls"]
        assert [h["hall_id"] for h in halls] == ["H001", "H002"]
        # a hall's token sends events but reads no figures
        hall_auth = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/city/stats/halls", headers=hall_auth).status_code == 401
        bad = client.get("/api/city/stats/halls?from=2026-13-01", headers=auth)
        assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "bad_date"
        assert client.post("/api/city/ingest", json={"events": []}).status_code == 401
        junk = client.post("/api/city/ingest", json={"events": [{"seq": "x"}]}, headers=hall_auth)
        assert junk.status_code == 422 and junk.get_json()["error"]["code"] == "bad_batch"
    finally:
        client.application.extensions["city_pool"].close()


def _event(seq: int, kind: str = "ticket.issued", day: str = "2026-11-27", **data) -> dict:
    ts = datetime(2026, 11, 27, 9, 0, tzinfo=TZ).timestamp() + seq
    return {"seq": seq, "type": kind, "at": datetime.fromtimestamp(ts, TZ).isoformat(), "ts": ts,
            "day": day, "ticket": seq, "window": None, "clerk": None, "service": "A", "data": data}


@pytest.mark.api
def test_the_intake_keeps_each_hall_epoch_seq_once_and_asks_again_after_a_gap(city_url):
    hall_id, token = add_hall_and_manager(city_url)
    client = create_city_app(city_url, pool_size=2).test_client()
    auth = {"Authorization": f"Bearer {token}"}
    try:
        def send(after, seqs, epoch=1):
            return client.post("/api/city/ingest", headers=auth, json={
                "hall_id": hall_id, "epoch": epoch, "after": after,
                "events": [_event(s) for s in seqs]})
        r = send(0, [1, 2, 3])
        assert r.status_code == 200 and r.get_json()["ack"] == 3
        # the same batch again (its answer was lost): nothing changes
        assert send(0, [1, 2, 3]).get_json()["ack"] == 3
        # an overlap: only the new ones count
        assert send(2, [3, 4]).get_json()["ack"] == 4
        # a gap: the city says where it stands, and stores nothing
        gap = send(6, [7, 8])
        assert gap.status_code == 409 and gap.get_json()["ack"] == 4
        assert gap.get_json()["error"]["code"] == "gap"
        # a new epoch (a restored hall) starts its own count: seq 1 is new there
        assert send(0, [1], epoch=2).get_json()["ack"] == 1
        with psycopg.connect(city_url) as conn:
            assert city_db.counts(conn, hall_id)["events"] == 5
            assert conn.execute("SELECT count(DISTINCT (epoch, seq)) FROM events").fetchone()[0] == 5
        # a batch out of order is refused whole
        bad = send(4, [6, 5])
        assert bad.status_code == 422
        other = client.post("/api/city/ingest", headers=auth,
                            json={"hall_id": "H999", "events": []})
        assert other.status_code == 403
    finally:
        client.application.extensions["city_pool"].close()


# --- the same figures -----------------------------------------------------------------

def operate_a_day(client, acc: Accounts, clock: FakeClock, bad_ratings: bool = True) -> dict:
    """A morning at the demo hall: issues, calls, no-shows, a transfer, ratings good and bad,
    a bad rating followed up, another appealed and upheld."""
    kiosk = acc.device("kiosk")
    clerks = {w: acc.clerk(w) for w in (1, 2, 3, 5)}
    pads = {w: acc.device("pad", w) for w in clerks}
    manager = acc.manager()
    scores = [5, 4, 5, 3, 2, 5, 1, 4, 5, 5, 4, 2]
    served = 0
    for i in range(24):
        service = "ABCB"[i % 4]
        clock.advance(37 + i * 3.3337)
        t = client.post("/api/tickets", json={"service": service}, headers=kiosk).get_json()
        assert "id" in t, t
    for i in range(22):
        w = (1, 2, 3, 5)[i % 4]
        clock.advance(61.123 + i)
        r = client.post(f"/api/windows/{w}/call-next", headers=clerks[w])
        if r.status_code == 204:
            continue
        t = r.get_json()
        clock.advance(90 + 7.77 * i)
        if i % 7 == 3:
            client.post(f"/api/tickets/{t['id']}/recall", headers=clerks[w])
            client.post(f"/api/tickets/{t['id']}/recall", headers=clerks[w])
            assert client.post(f"/api/tickets/{t['id']}/no-show", headers=clerks[w]).status_code == 200
            continue
        if i == 5:
            assert client.post(f"/api/tickets/{t['id']}/transfer", json={"service": "D"},
                               headers=clerks[w]).status_code == 200
            continue
        assert client.post(f"/api/tickets/{t['id']}/finish", headers=clerks[w]).status_code == 200
        served += 1
        clock.advance(5)
        score = scores[served % len(scores)]
        if not bad_ratings and score < 3:
            score = 4
        r = client.post("/api/ratings", json={"ticket": t["id"], "score": score,
                                              "reasons": ["attitude"] if score < 3 else []},
                        headers=pads[w])
        assert r.status_code == 201, r.get_json()
    cases = client.get("/api/cases", headers=manager).get_json()["cases"]
    if bad_ratings:
        assert len(cases) >= 2
        first, second = cases[0]["id"], cases[1]["id"]
        clock.advance(600)
        assert client.post(f"/api/cases/{first}/steps/callback", json={"note": "已回访"},
                           headers=manager).status_code == 200
        assert client.post(f"/api/cases/{second}/appeal", json={"reason": "误触"},
                           headers=manager).status_code == 200
        assert client.post(f"/api/cases/{second}/appeal/decision",
                           json={"uphold": True, "reason": "监控可见误触"},
                           headers=manager).status_code == 200
    return {"manager": manager}


def forward_all(app) -> int:
    fw = app.extensions["qrate_forwarder"]
    total = 0
    while True:
        n = fw.push_once()
        total += n
        if n == 0:
            return total


def pick(row: dict, key: str) -> dict:
    return {key: row[key], **{k: row[k] for k in KEYS}}


@pytest.mark.api
def test_a_halls_figures_at_the_city_equal_its_own_to_the_last_digit(city_url, hall_dir, tmp_path):
    clock = FakeClock(datetime(2026, 11, 27, 9, 0, tzinfo=TZ))
    hall_id, token = add_hall_and_manager(city_url)
    qrate("seed-history", "--days", "3", "--end", "2026-11-26", "--seed", "5", "--hall", str(hall_dir))
    city = InProcessCity(city_url, clock=clock)
    try:
        app = create_app({"HALL": hall_dir, "TESTING": True, "CLOCK": clock, "HALL_OVERRIDES": {
            "ratings": {"press_burst": 50, "presses_per_minute": 600},
            "city": {"url": city.url, "token": token, "hall_id": hall_id, "batch": 97}}})
        client = app.test_client()
        acc = Accounts(app.extensions["qrate"], client)
        who = operate_a_day(client, acc, clock)
        sent = forward_all(app)
        with app.extensions["qrate"].store() as s:
            assert sent == s.last_seq()  # every event of the log, once
        mgr = manager_headers(city.url, city_url)
        for start, end in (("2026-11-24", "2026-11-27"), ("2026-11-27", "2026-11-27"),
                           ("2026-11-25", "2026-11-25")):
            q = f"?from={start}&to={end}"
            for path, key in (("windows", "window"), ("staff", "staff"), ("services", "service")):
                own = client.get(f"/api/stats/{path}{q}", headers=who["manager"]).get_json()["rows"]
                there = requests.get(f"{city.url}/api/city/stats/halls/{hall_id}/{path}{q}",
                                     headers=mgr, timeout=10).json()["rows"]
                own = sorted(own, key=lambda r: r[key])  # the hall ranks windows and staff
                for a, b in zip(there, own):
                    assert pick(a, key) == pick(b, key), (path, start, end, {k: (a[k], b[k]) for k in KEYS if a[k] != b[k]})
                assert len(there) == len(own)
            ops = app.extensions["qrate"]
            with ops.store() as s:
                total = tables.total(s.db, ops.cfg, now=clock(), start=start, end=end)
            halls = requests.get(f"{city.url}/api/city/stats/halls{q}", headers=mgr, timeout=10).json()
            assert [r["hall"] for r in halls["rows"]] == [hall_id]
            assert {k: halls["rows"][0][k] for k in KEYS} == {k: total[k] for k in KEYS}
        today = requests.get(f"{city.url}/api/city/stats/halls?from=2026-11-27", headers=mgr,
                             timeout=10).json()["rows"][0]
        assert today["callback_rate"] == 1.0  # the one due case was called back in time
        assert today["ratings"] > 0 and today["levels"]["1"] + today["levels"]["2"] >= 1
        # the exports carry the same rows
        csv_text = requests.get(f"{city.url}/api/city/stats/halls?from=2026-11-24&to=2026-11-27"
                                "&format=csv", headers=mgr, timeout=10).content.decode("utf-8-sig")
        assert csv_text.splitlines()[0].startswith("hall,") and hall_id in csv_text
        xlsx = requests.get(f"{city.url}/api/city/stats/halls?format=xlsx", headers=mgr, timeout=10)
        assert xlsx.content[:2] == b"PK"
        # nothing new: a second round sends nothing and counts nothing twice
        assert forward_all(app) == 0
        check_the_feed(city_url, app)
        app.extensions["qrate"].close()
    finally:
        city.stop()


def check_the_feed(city_url: str, app) -> None:
    """The 好差评 export: valid against docs/haochaping-feed.schema.json, every rating once,
    差评 with their follow-up; the next export holds only what changed since."""
    schema = json.loads((ROOT / "docs" / "haochaping-feed.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    out = qrate("city", "feed", "export", "--db", city_url).stdout
    lines = [json.loads(line) for line in out.splitlines()]
    for line in lines:
        validator.validate(line)
    ops = app.extensions["qrate"]
    with ops.store() as s:
        ids = [r[0] for r in s.db.execute("SELECT id FROM ratings ORDER BY id")]
        called_back = {r[0] for r in s.db.execute(
            "SELECT rating FROM rating_cases WHERE callback_done_at IS NOT NULL")}
        upheld = {r[0] for r in s.db.execute("SELECT id FROM ratings WHERE excluded = 1")}
    assert sorted(int(r["evaluation_id"].rsplit("-", 1)[1]) for r in lines) == ids
    bad = [r for r in lines if r["level"] <= 2]
    assert bad and all(r["followup"] is not None for r in bad)
    assert all(r["followup"] is None for r in lines if r["level"] > 2)
    by_id = {int(r["evaluation_id"].rsplit("-", 1)[1]): r for r in lines}
    assert called_back and all(by_id[i]["followup"]["callback_at"] for i in called_back)
    assert upheld and all(by_id[i]["excluded"] for i in upheld)
    assert all(r["channel"] == "onsite_device" and r["level_name"] for r in lines)
    # incremental: nothing changed, nothing sent; --all sends everything again, as CSV too
    assert qrate("city", "feed", "export", "--db", city_url).stdout == ""
    csv_all = qrate("city", "feed", "export", "--db", city_url, "--all", "--format", "csv").stdout
    assert len(csv_all.strip().splitlines()) == len(ids) + 1
    assert csv_all.lstrip("\ufeff").startswith("evaluation_id,hall_id,window_id,clerk_no,case_no")
