"""`qrate device add --printer` while the hall is served: the running server takes the
kiosk's printer at once (its spool opens and `device.changed` is pushed),
instead of finding the row on its next look at the database."""
from __future__ import annotations

import time

import pytest
import requests

from conftest import PASSWORD, bearer

pytestmark = pytest.mark.live


def test_a_kiosk_printer_added_from_the_command_line_prints_its_next_ticket_at_once(live, tmp_path):
    live.cli("user", "add", "9000", "--role", "admin", input_text=f"{PASSWORD}\n{PASSWORD}\n")
    admin = bearer(requests.post(live.url + "/api/login", json={"user": "9000", "password": PASSWORD},
                                 timeout=10).json()["token"])
    out = live.cli("device", "add", "kiosk-north", "--kind", "kiosk",
                   "--printer", f"file://{tmp_path / 'north'}")
    token = out.strip().splitlines()[-1]

    # the command came back once the server had taken it: the spool is there now, not
    # after the hub's next look at the database (30 s)
    printers = requests.get(live.url + "/api/printers", headers=admin, timeout=10).json()["printers"]
    assert "kiosk-north" in [p["name"] for p in printers]

    ticket = requests.post(live.url + "/api/tickets", json={"service": "A"}, headers=bearer(token),
                           timeout=10).json()
    deadline = time.monotonic() + 30  # a generous bound for "it prints", not a speed target
    while not list((tmp_path / "north").glob(f"*-{ticket['number']}.txt")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list((tmp_path / "north").glob(f"*-{ticket['number']}.txt")), "the ticket did not print on its kiosk's printer"
