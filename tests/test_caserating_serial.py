"""A serial pad asked to rate a case (一次一评) over a real pty, against a running `qrate serve`:
$ASK names '#' and the case number where no ticket is called; the rating keeps the case."""
import itertools

import pytest

from devices.frames import encode
from test_serial_pty import api, ratings, rig, serve_one  # noqa: F401  (rig: the module's fixture)

pytestmark = pytest.mark.device

SEQ = itertools.count(7000)


@pytest.fixture(scope="module")
def integration(rig):  # noqa: F811
    # `qrate device add NAME --kind integration`: the token on the last line
    rig["integration"] = rig["live"].device_token("yichuang-1", "integration")
    return rig


def test_a_case_without_ticket_is_asked_by_its_number_and_rated(integration):
    rig = integration
    pad = rig["pad"]
    r = api(rig, "POST", "/windows/3/rating-request", "integration",
            json={"case_no": "BJ2026112700099", "matter_code": "M-001", "matter_name": "户口迁移"})
    assert r.status_code == 201, r.text
    assert r.json()["ticket_id"] is None
    pad.wait_for("ASK", f0="03", f1="#BJ2026112700099")
    seq = f"{next(SEQ):04d}"
    pad.write(encode("RATE", "03", 2, seq))
    pad.wait_for("ACK", f0=seq)
    pad.wait_for("IDLE", f0="03")
    row = next(x for x in ratings(rig) if x.get("case_no") == "BJ2026112700099")
    assert (row["ticket"], row["score"], row["window"], row["clerk"], row["source"]) == (None, 2, 3, "1003", "serial")
    assert row["matter_code"] == "M-001" and row["matter_name"] == "户口迁移"
    # asked once: the same case is not rated again
    seq = f"{next(SEQ):04d}"
    pad.write(encode("RATE", "03", 5, seq))
    pad.wait_for("NAK", f0=seq, f1="NOASK")


def test_a_case_of_the_ticket_just_served_is_asked_by_the_ticket(integration):
    rig = integration
    pad = rig["pad"]
    t = serve_one(rig)
    pad.wait_for("ASK", f0="03", f1=t["number"])
    r = api(rig, "POST", "/windows/3/rating-request", "integration",
            json={"case_no": "BJ2026112700100", "matter_code": "M-002", "matter_name": "居住证办理"})
    assert r.json()["ticket_id"] == t["id"]
    pad.wait_for("ASK", f0="03", f1=t["number"])
    seq = f"{next(SEQ):04d}"
    pad.write(encode("RATE", "03", 5, seq))
    pad.wait_for("ACK", f0=seq)
    row = next(x for x in ratings(rig) if x["ticket"] == t["id"])
    assert row["case_no"] == "BJ2026112700100" and row["score"] == 5
