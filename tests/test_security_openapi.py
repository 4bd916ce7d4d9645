"""The OpenAPI document validates (openapi-spec-validator), every operation declares its
answers, and schemathesis finds no server error and no answer off the document against a
live server, called with a token of each role (bounded examples and time)."""
from __future__ import annotations

import pytest
from openapi_spec_validator import validate

@pytest.mark.api
def test_the_openapi_document_is_valid_and_every_operation_has_its_answers(client):
    doc = client.get("/api/openapi.json").get_json()
    validate(doc)
    ops = [(path, method, op) for path, item in doc["paths"].items() for method, op in item.items()]
    assert len(ops) >= 50
    for path, method, op in ops:
        ok = [c for c in op["responses"] if c.startswith("2")]
        assert ok, (method, path)
        assert all(op["responses"][c].get("content") or c == "204" for c in ok), (method, path)
        assert "429" in op["responses"], (method, path)


ROLES = ("anonymous", "kiosk", "pad", "keypad", "display", "integration", "clerk", "manager", "admin")
ACTORS = ("kiosk", "pad", "keypad", "clerk", "manager", "admin", "integration")  # who changes the hall
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance"


@pytest.mark.live
@pytest.mark.timeout(300)
def test_schemathesis_finds_no_server_error_and_no_answer_off_the_document(live, tmp_path):
    """Two schemathesis processes side by side, each calling as every role in turn
    (tests/schemathesis_roles.py): the fuzzing phase (9 examples per operation, so each
    operation meets several roles) and the stateful phase (chains of calls over the links
    schemathesis infers from the document, an answer's id fed to the next call) as the
    roles that change the hall, bounded to 45 s. /api/logout is in: it gets a fresh
    sign-in each time. 0 server errors, 0 answers off the document."""
    import json
    import os
    import shutil
    import subprocess
    import sys
    import time
    from pathlib import Path

    import requests

    from tests.conftest import PASSWORD, ROOT
    cli = Path(sys.executable).with_name("schemathesis")
    assert cli.exists() or shutil.which("schemathesis"), "schemathesis is a test dependency"

    # the accounts straight into the hall's database (the CLI would start a Python per account)
    from server import auth, config, store
    db = store.connect(config.load(live.hall_dir).db_path)
    try:
        devices = {kind: auth.add_device(db, f"st-{kind}", kind, window)[1]
                   for kind, window in (("kiosk", None), ("pad", 1), ("keypad", 2), ("display", None),
                                        ("integration", None))}
        for no, role in (("1003", "clerk"), ("9001", "manager"), ("9100", "admin"), ("9002", "manager")):
            auth.add_user(db, no, role, PASSWORD)
    finally:
        db.conn.close()

    def user_token(no: str, window=None) -> str:
        r = requests.post(live.url + "/api/login", json={"user": no, "password": PASSWORD, "window": window},
                          timeout=10)
        assert r.status_code == 200, r.text
        return r.json()["token"]

    tokens = {"anonymous": None, **devices, "clerk": user_token("1003", 3),
              "manager": user_token("9001"), "admin": user_token("9100")}
    # 9002 is the one /api/logout signs out, again and again

    def run(name: str, roles, phases: str, examples: int, *extra) -> subprocess.Popen:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "SCHEMATHESIS_HOOKS": "tests.schemathesis_roles",
               "QRATE_ST_TOKENS": json.dumps([[r, tokens[r]] for r in roles]),
               "QRATE_ST_LOGOUT": json.dumps({"url": live.url, "user": "9002", "password": PASSWORD}),
               "QRATE_ST_USED": str(tmp_path / f"{name}.json")}
        return subprocess.Popen([str(cli), "run", live.url + "/api/openapi.json", "--checks", CHECKS,
                                 "--max-examples", str(examples), "--phases", phases,
                                 "--generation-deterministic", "--request-timeout", "20", "--no-color",
                                 *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=env, cwd=ROOT)

    started = time.monotonic()
    runs = {"fuzzing": run("fuzzing", ROLES, "fuzzing", 9),
            "stateful": run("stateful", ACTORS, "stateful", 5, "--max-time", "45")}
    failed, texts = {}, {}
    for name, proc in runs.items():
        try:
            text, _ = proc.communicate(timeout=240)
        except subprocess.TimeoutExpired:
            proc.kill()
            text, _ = proc.communicate()
        texts[name] = text
        if proc.returncode != 0:
            failed[name] = text[text.find("FAILURES"):][:4000] if "FAILURES" in text else text[-4000:]
    took = time.monotonic() - started
    assert not failed, "\n\n".join(f"--- {name}\n{text}" for name, text in failed.items())
    assert "Scenarios:" in texts["stateful"], texts["stateful"][-2000:]
    used = {name: json.loads((tmp_path / f"{name}.json").read_text()) for name in runs}
    assert set(used["fuzzing"]) == set(ROLES), used  # every role called
    assert min(used["fuzzing"].values()) >= 20, used
    assert set(used["stateful"]) == set(ACTORS), used
    print(f"schemathesis: {took:.0f} s; calls per role: {used}")
