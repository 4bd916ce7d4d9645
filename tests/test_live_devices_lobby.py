"""The lobby stops saying 即将叫到 ("next up") for a service once every window serving
it is paused (by its clerk, or by the silence rule): a window's event carries every
service's summary, so screens redraw the estimate at once, not at the next ticket."""
import pytest

pytestmark = pytest.mark.api


def test_pausing_the_last_open_window_of_a_service_clears_its_next_up(app, client, accounts):
    ops = app.extensions["qrate"]
    served_by = {c: {w.number for w in ops.cfg.windows.values() if c in w.services}
                 for c in ops.cfg.services}
    code = next(c for c, ws in served_by.items() if 3 in ws)
    clerk = accounts.clerk(3, "1003")  # window 3 opens; no other window serving the service is open
    opened = {w["number"] for w in ops.snapshot()["windows"] if w["status"] == "open"}
    assert opened & served_by[code] == {3}
    summary = lambda st: next(s for s in st["services"] if s["code"] == code)  # noqa: E731
    # an idle window, nobody waiting: a ticket taken now is called at once, the lobby says 即将叫到
    assert summary(ops.snapshot())["estimated_wait_s"] == 0

    lobby = app.extensions["qrate_socketio"].test_client(app)  # a lobby screen: no token
    lobby.get_received()
    r = client.post("/api/windows/3/pause", json={"reason": ""}, headers=clerk)
    assert r.status_code == 200 and r.get_json()["status"] == "paused"
    events = [a["args"][0] for a in lobby.get_received() if a["name"] == "event"]
    paused = [e for e in events if e["type"] == "window.changed"]
    assert len(paused) == 1
    assert summary(paused[0])["estimated_wait_s"] is None  # "no open window", not 即将叫到
    assert summary(ops.snapshot())["estimated_wait_s"] is None

    # back at the window: next up again, pushed as well
    client.post("/api/windows/3/resume", headers=clerk)
    events = [a["args"][0] for a in lobby.get_received() if a["name"] == "event"]
    assert summary(events[-1])["estimated_wait_s"] == 0


def test_a_window_paused_for_silence_clears_next_up_too(app, client, accounts):
    ops = app.extensions["qrate"]
    code = next(c for c in ops.cfg.services if c in ops.cfg.windows[3].services)
    accounts.clerk(3, "1003")
    lobby = app.extensions["qrate_socketio"].test_client(app)
    lobby.get_received()
    ops.pause(3, "silent")  # what the silence check does (server/presence.py)
    events = [a["args"][0] for a in lobby.get_received() if a["name"] == "event"]
    assert events[-1]["type"] == "window.changed" and events[-1]["window_state"]["status"] == "paused"
    assert next(s for s in events[-1]["services"] if s["code"] == code)["estimated_wait_s"] is None
