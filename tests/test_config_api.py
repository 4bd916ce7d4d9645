"""GET/PUT /api/config: the whole configuration, checked (422), rights (403), waiting
tickets never stranded (409 and the choice), applied live and audited; export/import."""
from __future__ import annotations

import copy
import tomllib

import pytest
from click.testing import CliRunner

from server import config, config_live
from server.app import create_app
from server.cli import cli
from conftest import PASSWORD

pytestmark = pytest.mark.api


@pytest.fixture
def manager(accounts):
    return accounts.manager()


@pytest.fixture
def admin(accounts):
    accounts.user("9100", "admin")
    r = accounts.client.post("/api/login", json={"user": "9100", "password": PASSWORD})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def current(client, headers) -> dict:
    r = client.get("/api/config", headers=headers)
    assert r.status_code == 200
    return r.get_json()


def test_get_config_is_the_hall_file_as_json(app, client, manager, hall_dir):
    body = current(client, manager)
    on_disk = tomllib.loads((hall_dir / "hall.toml").read_text(encoding="utf-8"))
    assert [s["code"] for s in body["services"]] == [s["code"] for s in on_disk["services"]]
    assert body["windows"][0]["name"] == on_disk["windows"][0]["name"]
    assert body["queue"]["no_show_after_recalls"] == 2
    assert app.test_client().get("/api/config").status_code == 401


def test_a_clerk_may_not_read_or_change_it(client, accounts):
    clerk = accounts.clerk(1)
    assert client.get("/api/config", headers=clerk).status_code == 403
    assert client.put("/api/config", json={}, headers=clerk).status_code == 403


def test_invalid_change_is_422_with_the_fields_and_nothing_changes(client, manager):
    before = current(client, manager)
    bad = copy.deepcopy(before)
    bad["services"][0]["target_good_rate"] = 95
    bad["queue"]["no_show_after_recalls"] = "two"
    bad["hall"]["enforce_hour"] = True
    bad["staff"][1]["employee_no"] = bad["staff"][0]["employee_no"]
    r = client.put("/api/config", json=bad, headers=manager)
    assert r.status_code == 422
    err = r.get_json()["error"]
    fields = {d["field"]: d["problem"] for d in err["details"]}
    assert "services.0.target_good_rate" in fields
    assert "queue.no_show_after_recalls" in fields
    assert "enforce_hours" in fields["hall.enforce_hour"]   # the nearest valid key
    assert "used twice" in fields["staff.1.employee_no"]
    assert current(client, manager) == before


def test_a_change_applies_at_once_and_is_audited(app, client, manager, accounts):
    kiosk = accounts.device("kiosk")
    cfg = current(client, manager)
    cfg["services"].append({"code": "F", "name": "公积金", "name_en": "Housing Fund"})
    cfg["windows"][1]["services"] = ["A", "F"]
    cfg["windows"][1]["name"] = "公积金窗口"
    r = client.put("/api/config", json=cfg, headers=manager)
    assert r.status_code == 200, r.get_json()
    assert any(s["code"] == "F" for s in r.get_json()["services"])
    # the running hall serves it: a ticket of F is issued, window 2 carries its new name
    t = client.post("/api/tickets", json={"service": "F"}, headers=kiosk)
    assert t.status_code == 201 and t.get_json()["number"] == "F001"
    windows = {w["number"]: w for w in client.get("/api/windows").get_json()["windows"]}
    assert windows[2]["name"] == "公积金窗口" and windows[2]["services"] == ["A", "F"]
    changes = client.get("/api/config/changes", headers=manager).get_json()["changes"]
    keys = {c["key"]: c for c in changes[0]["changes"]}
    assert changes[0]["by"] == "9001" and changes[0]["source"] == "api"
    assert keys["windows.2.name"]["old"] == "2号窗口" and keys["windows.2.name"]["new"] == "公积金窗口"
    assert keys["services.F"]["old"] is None


def test_the_change_is_pushed_with_every_service_and_window(app, client, manager):
    sio = app.extensions["qrate_socketio"].test_client(app)
    sio.get_received()
    cfg = current(client, manager)
    cfg["windows"][0]["name"] = "综合受理一号"
    assert client.put("/api/config", json=cfg, headers=manager).status_code == 200
    events = [m["args"][0] for m in sio.get_received() if m["name"] == "event"]
    pushed = [e for e in events if e["type"] == "config.changed"]
    assert len(pushed) == 1
    assert pushed[0]["windows"][0]["name"] == "综合受理一号"
    assert {s["code"] for s in pushed[0]["services"]} == {"A", "B", "C", "D", "E"}
    sio.disconnect()


def test_a_manager_may_not_touch_admin_keys_an_admin_may(client, manager, admin):
    cfg = current(client, manager)
    cfg["printer"]["url"] = "tcp://10.0.0.9:9100"
    cfg["staff"][0]["role"] = "manager"
    r = client.put("/api/config", json=cfg, headers=manager)
    assert r.status_code == 403
    err = r.get_json()["error"]
    assert err["code"] == "admin_only" and "printer" in err["details"] and "staff.role" in err["details"]
    assert client.put("/api/config", json=cfg, headers=admin).status_code == 200
    assert current(client, admin)["printer"]["url"] == "tcp://10.0.0.9:9100"


def test_admin_is_admitted_wherever_a_manager_is(client, admin):
    assert client.get("/api/stats/windows?from=2026-11-01&to=2026-11-02", headers=admin).status_code == 200


def test_removing_a_service_with_a_queue_asks_what_to_do(client, manager, accounts):
    kiosk = accounts.device("kiosk")
    ids = [client.post("/api/tickets", json={"service": "C"}, headers=kiosk).get_json()["id"]
           for _ in range(2)]
    cfg = current(client, manager)
    cfg["services"] = [s for s in cfg["services"] if s["code"] != "C"]
    for w in cfg["windows"]:
        w["services"] = [c for c in w["services"] if c != "C"]
    r = client.put("/api/config", json=cfg, headers=manager)
    assert r.status_code == 409
    err = r.get_json()["error"]
    assert err["code"] == "would_strand" and err["details"]["stranded"][0]["waiting"] == 2
    assert {o["action"] for o in err["details"]["options"]} == {"move", "cancel"}
    assert any(s["code"] == "C" for s in current(client, manager)["services"])  # nothing changed
    r = client.put("/api/config?stranded=move&to=D", json=cfg, headers=manager)
    assert r.status_code == 200, r.get_json()
    moved = [client.get(f"/api/tickets/{i}", headers=manager).get_json() for i in ids]
    assert [(t["service"], t["status"]) for t in moved] == [("D", "waiting"), ("D", "waiting")]
    assert [t["number"][0] for t in moved] == ["C", "C"]  # the number is kept


def test_a_window_losing_its_last_service_can_cancel_with_a_reason(client, manager, accounts):
    kiosk = accounts.device("kiosk")
    tid = client.post("/api/tickets", json={"service": "D"}, headers=kiosk).get_json()["id"]
    cfg = current(client, manager)
    for w in cfg["windows"]:
        if w["services"] == ["D"] or w["number"] == 9:
            w["services"] = [c for c in w["services"] if c != "D"]
    assert client.put("/api/config", json=cfg, headers=manager).status_code == 409
    r = client.put("/api/config?stranded=cancel&reason=户籍窗口停办", json=cfg, headers=manager)
    assert r.status_code == 200
    assert client.get(f"/api/tickets/{tid}", headers=manager).get_json()["status"] == "cancelled"


def test_a_stale_page_cannot_overwrite_a_newer_change(client, manager):
    r = client.get("/api/config", headers=manager)
    etag, cfg = r.headers["ETag"], r.get_json()
    cfg["hall"]["notice"] = "one"
    assert client.put("/api/config", json=cfg, headers={**manager, "If-Match": etag}).status_code == 200
    cfg["hall"]["notice"] = "two"
    stale = client.put("/api/config", json=cfg, headers={**manager, "If-Match": etag})
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "config_moved"


def test_a_commitments_history_is_kept(client, manager):
    cfg = current(client, manager)
    old = cfg["staff"][0]["commitment"]
    cfg["staff"][0]["commitment"] = "当日事当日毕。"
    assert client.put("/api/config", json=cfg, headers=manager).status_code == 200
    rows = client.get("/api/config/commitments?staff=1001").get_json()["commitments"]
    assert [r["commitment"] for r in rows] == ["当日事当日毕。", old]


def test_the_database_configuration_stands_until_hall_toml_changes(hall_dir, client, manager, app):
    cfg = current(client, manager)
    cfg["windows"][0]["name"] = "浏览器改的名字"
    assert client.put("/api/config", json=cfg, headers=manager).status_code == 200
    app.extensions["qrate"].close()
    again = create_app({"HALL": hall_dir, "TESTING": True})   # hall.toml untouched: the DB stands
    assert again.extensions["qrate"].cfg.windows[1].name == "浏览器改的名字"
    again.extensions["qrate"].close()
    path = hall_dir / "hall.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('name = "1号窗口"', 'name = "文件改的名字"'),
                    encoding="utf-8")
    third = create_app({"HALL": hall_dir, "TESTING": True})   # hall.toml changed: imported, audited
    ops = third.extensions["qrate"]
    assert ops.cfg.windows[1].name == "文件改的名字"
    c = third.test_client()
    r = c.post("/api/login", json={"user": "9001", "password": PASSWORD})
    changes = c.get("/api/config/changes",
                    headers={"Authorization": "Bearer " + r.get_json()["token"]}).get_json()["changes"]
    assert changes[0]["by"] == "hall.toml"
    assert {"key": "windows.1.name", "old": "浏览器改的名字", "new": "文件改的名字"} in changes[0]["changes"]
    ops.close()


def test_export_then_import_round_trips_exactly(hall_dir, tmp_path, client, manager):
    cfg = current(client, manager)
    cfg["services"][0]["appointments"] = {"slot_min": 15, "capacity": 4}
    cfg["calendar"] = {"holidays": ["2026-12-31"], "workdays": []}
    assert client.put("/api/config", json=cfg, headers=manager).status_code == 200
    runner = CliRunner()
    first = runner.invoke(cli, ["config", "export", "--hall", str(hall_dir)])
    assert first.exit_code == 0, first.output
    exported = tmp_path / "exported.toml"
    exported.write_text(first.output, encoding="utf-8")
    assert tomllib.loads(first.output)["services"][0]["appointments"]["capacity"] == 4
    imp = runner.invoke(cli, ["config", "import", str(exported), "--hall", str(hall_dir)])
    assert imp.exit_code == 0, imp.output
    second = runner.invoke(cli, ["config", "export", "--hall", str(hall_dir)])
    assert second.output == first.output
    assert config_live.digest(config.merge(config.DEFAULTS, tomllib.loads(first.output))) == \
        config_live.digest(current(client, manager))


def test_import_of_a_bad_file_says_where_and_changes_nothing(hall_dir, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[hall]\nname = "x"\n\n[queue]\nno_show_after_recall = 2\n', encoding="utf-8")
    out = CliRunner().invoke(cli, ["config", "import", str(bad), "--hall", str(hall_dir)])
    assert out.exit_code == 2
    assert f"{bad}:5: [queue] no_show_after_recall: unknown key; did you mean 'no_show_after_recalls'?" \
        in out.output
