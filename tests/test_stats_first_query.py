"""The first report on a freshly started hall answers (issue 16: a 500 seen once in six runs
of this check, at 17:49 hall time on 2026-12-01). A fresh demo hall with opening hours
lifted: issue, call, finish, rate, then at once a manager's figures per window for
yesterday to tomorrow, on a new server each time, while the start-up warm-up may still run.
The live server's log is checked after each run (conftest), so a 500 shows its traceback."""
from datetime import datetime, timedelta

import pytest
import requests

from conftest import PASSWORD, TZ, LiveServer, bearer
from server import config

pytestmark = pytest.mark.live

SEEN_AT = datetime(2026, 12, 1, 17, 49, tzinfo=TZ)


@pytest.mark.parametrize("run", range(4))
def test_figures_right_after_the_first_rating_on_a_fresh_hall(tmp_path, run):
    folder = tmp_path / "hall"
    config.write_demo(folder, always_open=True)
    server = LiveServer(folder, now=SEEN_AT if run % 2 == 0 else None)
    kiosk = bearer(server.device_token("kiosk-1", "kiosk"))
    pad = bearer(server.device_token("pad-3", "pad", 3))
    for user, role in (("1003", "clerk"), ("9001", "manager")):
        server.cli("user", "add", user, "--role", role, input_text=f"{PASSWORD}\n{PASSWORD}\n")
    server.start()
    try:
        url = server.url

        def post(path, who, **body):
            r = requests.post(url + path, json=body, headers=who, timeout=10)
            assert r.status_code in (200, 201), f"{path}: {r.status_code} {r.text}"
            return r.json()

        clerk = bearer(post("/api/login", {}, user="1003", password=PASSWORD, window=3)["token"])
        manager = bearer(post("/api/login", {}, user="9001", password=PASSWORD)["token"])
        t = post("/api/tickets", kiosk, service="A")
        assert post("/api/windows/3/call-next", clerk)["id"] == t["id"]
        post(f"/api/tickets/{t['id']}/finish", clerk)
        post("/api/ratings", pad, ticket=t["id"], score=5 - run)
        day = datetime.fromisoformat(t["issued_at"]).date()
        r = requests.get(url + "/api/stats/windows", headers=manager, timeout=30,
                         params={"from": (day - timedelta(days=1)).isoformat(),
                                 "to": (day + timedelta(days=1)).isoformat()})
        assert r.status_code == 200, r.text
        w3 = next(row for row in r.json()["rows"] if row["window"] == 3)
        assert (w3["issued"], w3["served"], w3["ratings"]) == (1, 1, 1)
    finally:
        server.kill()
