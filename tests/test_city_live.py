"""Two halls and a city on 127.0.0.1 (real `qrate serve` and `qrate city serve` processes,
a real PostgreSQL): a day's operations at both; the city's figures per hall equal each
hall's own; the city killed for a while (the halls keep issuing, calling and rating) and
back: it catches up, nothing lost, nothing counted twice; a hall killed mid-batch: the same."""
from __future__ import annotations

import signal
import threading
import time

import psycopg
import pytest
import requests

from city_kit import CityServer, Postgres
from conftest import PASSWORD, LiveServer, bearer
from server import auth, config, store
from server.city import db as city_db
from server.city import stats as city_stats

KEYS = city_stats.ROW_KEYS


@pytest.fixture(scope="module")
def postgres():
    pg = Postgres().start()
    yield pg
    pg.stop()


class Hall:
    def __init__(self, tmp_path, name: str, city_url: str, db_url: str):
        self.folder = tmp_path / name
        config.write_demo(self.folder, always_open=True)
        with psycopg.connect(db_url, autocommit=True) as conn:
            self.hall_id, token = city_db.add_hall(conn, name)
        toml = self.folder / "hall.toml"
        toml.write_text(toml.read_text(encoding="utf-8").replace(
            "[ratings]\n", "[ratings]\npress_burst = 50\npresses_per_minute = 600\n", 1), encoding="utf-8")
        with open(toml, "a", encoding="utf-8") as f:
            f.write(f'\n[city]\nurl = "{city_url}"\ntoken = "{token}"\nhall_id = "{self.hall_id}"\n'
                    "batch = 7\nretry_max_s = 0.5\n")
        # accounts and devices straight into the hall's file (the CLI's own tests cover the CLI)
        cfg = config.load(self.folder)
        store.open_and_migrate(cfg.db_path)
        db = store.connect(cfg.db_path)
        self.kiosk = bearer(auth.add_device(db, "kiosk-1", "kiosk", None)[1])
        self.pads = {w: bearer(auth.add_device(db, f"pad-{w}", "pad", w)[1]) for w in (1, 2)}
        for no, role in (("1001", "clerk"), ("1002", "clerk"), ("9001", "manager")):
            auth.add_user(db, no, role, PASSWORD)
        db.close()
        self.server = LiveServer(self.folder)

    def start(self) -> "Hall":
        self.server.start()

        def login(no, window=None):
            r = requests.post(self.server.url + "/api/login", timeout=5,
                              json={"user": no, "password": PASSWORD, **({"window": window} if window else {})})
            return bearer(r.json()["token"])
        self.clerks = {w: login(f"100{w}", w) for w in (1, 2)}
        self.manager = login("9001")
        self.n = 0
        return self

    def post(self, path: str, headers: dict, json=None):
        return requests.post(self.server.url + path, json=json or {}, headers=headers, timeout=10)

    def some_business(self, rounds: int) -> None:
        """Issue, call, finish or no-show, and rate, at windows 1 and 2."""
        for i in range(rounds):
            self.n += 1
            t = self.post("/api/tickets", self.kiosk, {"service": "ABC"[self.n % 3]}).json()
            assert "id" in t, t
        for i in range(rounds):
            w = (1, 2)[i % 2]
            r = self.post(f"/api/windows/{w}/call-next", self.clerks[w])
            if r.status_code == 204:
                continue
            t = r.json()
            if (self.n + i) % 5 == 4:
                self.post(f"/api/tickets/{t['id']}/recall", self.clerks[w])
                self.post(f"/api/tickets/{t['id']}/recall", self.clerks[w])
                assert self.post(f"/api/tickets/{t['id']}/no-show", self.clerks[w]).status_code == 200
                continue
            assert self.post(f"/api/tickets/{t['id']}/finish", self.clerks[w]).status_code == 200
            score = (5, 4, 5, 2, 3, 5)[(self.n + i) % 6]
            r = self.post("/api/ratings", self.pads[w], {"ticket": t["id"], "score": score,
                                                         "reasons": ["attitude"] if score < 3 else []})
            assert r.status_code == 201, r.text

    def last_seq(self) -> int:
        return requests.get(self.server.url + "/api/queue", timeout=5).json()["seq"]

    def own(self, path: str, day: str) -> list:
        return requests.get(f"{self.server.url}/api/stats/{path}?from={day}&to={day}",
                            headers=self.manager, timeout=10).json()["rows"]


def city_seq(db_url: str, hall_id: str) -> tuple[int, int]:
    """(rows stored, highest seq acknowledged) for a hall."""
    with psycopg.connect(db_url) as conn:
        stored = conn.execute("SELECT count(*) FROM events WHERE hall_id = %s", [hall_id]).fetchone()[0]
        ack = conn.execute("SELECT coalesce(max(acked_seq), 0) FROM hall_progress WHERE hall_id = %s",
                           [hall_id]).fetchone()[0]
        dupes = conn.execute("SELECT count(*) - count(DISTINCT (epoch, seq)) FROM events "
                             "WHERE hall_id = %s", [hall_id]).fetchone()[0]
    assert dupes == 0
    return stored, ack


def wait_caught_up(db_url: str, halls, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(city_seq(db_url, h.hall_id) == (h.last_seq(), h.last_seq()) for h in halls):
            return
        time.sleep(0.2)
    raise AssertionError([(h.hall_id, h.last_seq(), city_seq(db_url, h.hall_id)) for h in halls])


def same_figures(city: CityServer, mgr: dict, halls, day: str) -> None:
    rows = requests.get(f"{city.url}/api/city/stats/halls?from={day}", headers=mgr, timeout=10).json()["rows"]
    assert sorted(r["hall"] for r in rows) == sorted(h.hall_id for h in halls)
    for h in halls:
        for path, key in (("windows", "window"), ("staff", "staff"), ("services", "service")):
            own = sorted(h.own(path, day), key=lambda r: r[key])
            there = requests.get(f"{city.url}/api/city/stats/halls/{h.hall_id}/{path}?from={day}",
                                 headers=mgr, timeout=10).json()["rows"]
            assert [{k: r[k] for k in (key, *KEYS)} for r in there] == \
                [{k: r[k] for k in (key, *KEYS)} for r in own], (h.hall_id, path)
        mine = next(r for r in rows if r["hall"] == h.hall_id)
        served = sum(r["served"] for r in h.own("windows", day))
        assert mine["served"] == served and mine["ratings"] == sum(r["ratings"] for r in h.own("windows", day))


@pytest.mark.live
def test_two_halls_and_a_city_lose_nothing_and_count_nothing_twice(postgres, tmp_path):
    db_url = postgres.new_database()
    city = CityServer(db_url, tmp_path).start()
    halls = []
    try:
        halls = [Hall(tmp_path, name, city.url, db_url) for name in ("东区大厅", "西区大厅")]
        starting = [threading.Thread(target=h.start) for h in halls]  # both at once: each takes seconds
        for t in starting:
            t.start()
        for t in starting:
            t.join()
        assert all(h.server.running() and hasattr(h, "manager") for h in halls)
        for h in halls:
            h.server.allow(r"qrate\.forward")
        with psycopg.connect(db_url, autocommit=True) as conn:
            city_db.add_user(conn, "C9001", "manager", PASSWORD)
        mgr = bearer(requests.post(city.url + "/api/login", json={"user": "C9001", "password": PASSWORD},
                                   timeout=5).json()["token"])
        for h in halls:
            h.some_business(9)
        wait_caught_up(db_url, halls)
        day = requests.get(halls[0].server.url + "/api/queue", timeout=5).json()["day"]
        same_figures(city, mgr, halls, day)

        # the city goes away: the halls go on as if nothing happened
        city.kill()
        for h in halls:
            started = time.monotonic()
            h.some_business(9)
            assert time.monotonic() - started < 20
            assert city_seq(db_url, h.hall_id)[1] < h.last_seq()
        city = CityServer(db_url, tmp_path, port=city.port).start()
        wait_caught_up(db_url, halls)
        same_figures(city, mgr, halls, day)

        # a hall killed while it forwards a long backlog (batches of 7), then started again
        city.kill()
        halls[0].some_business(12)
        city = CityServer(db_url, tmp_path, port=city.port).start()
        deadline = time.monotonic() + 20
        while city_seq(db_url, halls[0].hall_id)[1] == 0 or \
                city_seq(db_url, halls[0].hall_id)[1] >= halls[0].last_seq():
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        halls[0].server.kill(signal.SIGKILL)
        behind = halls[0].last_seq() if halls[0].server.running() else None
        halls[0].server.start()
        halls[0].some_business(3)
        wait_caught_up(db_url, halls)
        same_figures(city, mgr, halls, day)
        assert behind is None  # it was killed, not stopped
    finally:
        for h in halls:
            h.server.kill(signal.SIGTERM)
        city.kill()
