"""A window removed takes its [[rota]] entries with it: through PUT /api/config (and so the
window editor), and through overrides; the answer names the windows and the audit lists
the change. A rota naming a window that never was is still an error."""
from __future__ import annotations

import pytest

from server.app import create_app

pytestmark = pytest.mark.api


def test_removing_a_window_removes_its_rota_and_says_so(app, client, accounts):
    manager = accounts.manager()
    cfg = client.get("/api/config", headers=manager).get_json()
    assert [r for r in cfg["rota"] if r["window"] == 6], "the demo hall schedules window 6"
    kept = [r for r in cfg["rota"] if r["window"] != 6]
    cfg["windows"] = [w for w in cfg["windows"] if w["number"] != 6]  # as the window editor does

    r = client.put("/api/config", json=cfg, headers=manager)
    assert r.status_code == 200, r.get_json()
    assert r.headers["Qrate-Rota-Removed"] == "6"
    assert r.get_json()["rota"] == kept
    assert client.get("/api/config", headers=manager).get_json()["rota"] == kept
    change = client.get("/api/config/changes", headers=manager).get_json()["changes"][0]
    rota = next(c for c in change["changes"] if c["key"] == "rota")
    assert any(row["window"] == 6 for row in rota["old"])
    assert not any(row["window"] == 6 for row in rota["new"])
    assert any(c["key"] == "windows.6" and c["new"] is None for c in change["changes"])

    # a change that removes no window leaves the rota alone, and says nothing
    cfg = r.get_json()
    cfg["hall"]["notice"] = "今日窗口调整"
    r = client.put("/api/config", json=cfg, headers=manager)
    assert r.status_code == 200 and "Qrate-Rota-Removed" not in r.headers
    assert r.get_json()["rota"] == kept


def test_a_rota_for_a_window_that_never_was_is_still_refused(app, client, accounts):
    manager = accounts.manager()
    cfg = client.get("/api/config", headers=manager).get_json()
    cfg["rota"].append({"window": 99, "weekdays": [1], "hours": ["09:00-12:00"]})
    r = client.put("/api/config", json=cfg, headers=manager)
    assert r.status_code == 422
    assert [d["field"] for d in r.get_json()["error"]["details"]] == [f"rota.{len(cfg['rota']) - 1}.window"]


def test_overrides_that_replace_the_windows_take_the_removed_windows_rota(hall_dir):
    app = create_app({"HALL": hall_dir, "HALL_OVERRIDES": {
        "windows": [{"number": 1, "name": "1号窗口", "services": ["A", "B", "C", "D", "E"]}]}})
    try:
        cfg = app.extensions["qrate"].cfg
        assert list(cfg.windows) == [1]
        assert {r["window"] for r in cfg.raw["rota"]} == {1}
    finally:
        app.extensions["qrate"].close()
