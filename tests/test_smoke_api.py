"""Issue, call, finish through the HTTP API in-process."""
import pytest

pytestmark = pytest.mark.api


def test_issue_call_finish(client, accounts):
    kiosk = accounts.device("kiosk")
    clerk = accounts.clerk(3)
    r = client.post("/api/tickets", json={"service": "A"}, headers=kiosk)
    assert r.status_code == 201
    ticket = r.get_json()
    assert ticket["number"] == "A001" and ticket["status"] == "waiting"
    assert ticket["status_url"].startswith("http://127.0.0.1:5000/t/")
    r = client.post("/api/windows/3/call-next", headers=clerk)
    assert r.status_code == 200 and r.get_json()["number"] == "A001"
    assert client.post("/api/windows/3/call-next", headers=clerk).status_code == 409
    r = client.post(f"/api/tickets/{ticket['id']}/finish", headers=clerk)
    assert r.get_json()["status"] == "done"
    assert client.post("/api/windows/3/call-next", headers=clerk).status_code == 204
