"""At start-up the server reads today's figures once, so the first manager's query is quick
and gives the same figures as a cold one."""
import pytest

from server.readside import summary

pytestmark = pytest.mark.api


def test_warm_reads_today_once_and_changes_no_figure(app, client, accounts):
    kiosk, clerk, manager = accounts.device("kiosk"), accounts.clerk(2), accounts.manager()
    for _ in range(3):
        client.post("/api/tickets", json={"service": "A"}, headers=kiosk)
        t = client.post("/api/windows/2/call-next", headers=clerk).get_json()
        client.post(f"/api/tickets/{t['id']}/finish", headers=clerk)
    h = app.extensions["qrate"]
    today = h.today().isoformat()
    cold = client.get(f"/api/stats/windows?from={today}&to={today}", headers=manager).get_json()
    summary.clear_cache()
    app.extensions["qrate_reader"].warm()
    assert len(summary.CACHE) == 1, "today's cells are cached"
    warm = client.get(f"/api/stats/windows?from={today}&to={today}", headers=manager).get_json()
    moving = {"open_s", "idle_s", "served_per_hour"}  # the window is open now: these move with the clock
    diff = {k for k in warm["rows"][0] if warm["rows"][0][k] != cold["rows"][0][k]}
    assert diff <= moving, diff
    assert warm["rows"][0]["served"] == 3
