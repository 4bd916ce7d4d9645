"""The device hub's printers, in memory (FakePort): one spool per printer, each reading
only its own jobs; a kiosk's printer bound or removed and a [printer] change swap only
the spools concerned, and the jobs waiting keep their place."""
from __future__ import annotations


import pytest

from devices.hub import DeviceHub
from fake_port import FakePort, hall_config

pytestmark = pytest.mark.unit


@pytest.fixture
def rig(tmp_path):
    cfg = hall_config(tmp_path / "hall", {"printer": {"url": "dummy://", "poll_s": 30}})
    port = FakePort()
    port.kiosks = {"kiosk-east": "dummy://"}
    hub = DeviceHub(port, cfg)
    return port, cfg, hub


def printed(port) -> dict:
    return {j["id"]: j["printer"] for j in port.jobs.values() if j["status"] == "printed"}


def test_each_printer_prints_its_own_jobs_only(rig):
    port, _, hub = rig
    assert sorted(hub.spools) == ["default", "kiosk-east"]
    port.issue("A001", printer="kiosk-east")
    port.issue("A002")
    port.issue("A003", printer="kiosk-gone")  # a kiosk whose printer no longer runs
    hub.spools["kiosk-east"].step()
    assert printed(port) == {1: "kiosk-east"}
    hub.spools["default"].step()
    assert printed(port) == {1: "kiosk-east", 2: "default", 3: "kiosk-gone"}
    state = hub.public_state()["devices"]
    assert [(p["name"], p["kiosk"]) for p in state["printers"]] == [("default", None),
                                                                     ("kiosk-east", "kiosk-east")]
    assert set(state["printer"]) == {"state", "can_print", "message", "message_en", "since"}


def test_a_kiosk_printer_bound_and_removed_by_its_event(rig):
    port, _, hub = rig
    port.push("device.changed", kind="kiosk", kiosk="kiosk-west", printer="dummy://")
    assert sorted(hub.spools) == ["default", "kiosk-east", "kiosk-west"]
    port.issue("B001", printer="kiosk-west")
    hub.spools["default"].step()
    assert printed(port) == {}  # kiosk-west's job waits for its own printer
    port.push("device.changed", kind="kiosk", kiosk="kiosk-west", printer=None)
    assert sorted(hub.spools) == ["default", "kiosk-east"]
    hub.spools["default"].step()
    assert printed(port) == {1: "kiosk-west"}  # no own printer any more: the default takes it


def test_a_printer_change_swaps_the_spool_and_keeps_the_jobs_waiting(rig):
    port, cfg, hub = rig
    before = dict(hub.spools)
    port.issue("A001")
    port.issue("A002", printer="kiosk-east")
    cfg.raw["printer"]["url"] = "dummy://?new"
    port.push("config.changed", changes=[{"key": "printer.url"}])
    assert hub.spools["default"] is not before["default"] and hub.spool is hub.spools["default"]
    assert hub.spools["default"].url == "dummy://?new"
    assert hub.spools["kiosk-east"] is before["kiosk-east"]  # its URL and the layout are the same
    cfg.raw["printer"]["mode"] = "raster"
    port.push("config.changed", changes=[{"key": "printer.mode"}])
    assert hub.spools["kiosk-east"] is not before["kiosk-east"]  # the layout is every printer's
    assert hub.spools["kiosk-east"].layout.mode == "raster"
    assert port.pending_print_jobs() == 2  # nothing lost, nothing printed by the swap
    hub.spools["default"].step()
    assert printed(port) == {1: "default"}


def test_an_old_and_a_new_spool_of_one_printer_never_send_at_once(rig):
    port, cfg, hub = rig
    old = hub.spools["default"]
    assert old.sending is not hub.spools["kiosk-east"].sending
    cfg.raw["printer"]["url"] = "dummy://?other"
    port.push("config.changed", changes=[])
    new = hub.spools["default"]
    assert new.sending is old.sending  # one lock per printer name, shared across the swap
