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


ROLES = ("anonymous", "kiosk", "pad", "keypad", "display", "clerk", "manager")


@pytest.mark.live
@pytest.mark.timeout(240)
def test_schemathesis_finds_no_server_error_and_no_answer_off_the_document(live):
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from tests.conftest import PASSWORD
    cli = Path(sys.executable).with_name("schemathesis")
    assert cli.exists() or shutil.which("schemathesis"), "schemathesis is a test dependency"
    live.cli("user", "add", "9001", "--role", "manager", input_text=f"{PASSWORD}\n{PASSWORD}\n")
    import requests
    tokens = {"anonymous": None,
              "kiosk": live.device_token("st-kiosk", "kiosk"),
              "pad": live.device_token("st-pad", "pad", 1),
              "keypad": live.device_token("st-keypad", "keypad", 2),
              "display": live.device_token("st-display", "display"),
              "clerk": live.clerk_token("1003", 3),
              "manager": requests.post(live.url + "/api/login", json={"user": "9001", "password": PASSWORD},
                                       timeout=10).json()["token"]}
    runs = {}
    for role in ROLES:
        args = [str(cli), "run", live.url + "/api/openapi.json",
                "--checks", "not_a_server_error,status_code_conformance,response_schema_conformance,"
                            "content_type_conformance",
                "--max-examples", "5" if role == "manager" else "1", "--phases", "fuzzing",
                "--exclude-path", "/api/logout", "--generation-deterministic",
                "--request-timeout", "20", "--no-color"]
        if tokens[role]:
            args += ["--header", f"Authorization: Bearer {tokens[role]}"]
        runs[role] = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    failed = {}
    for role, proc in runs.items():
        try:
            text, _ = proc.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            proc.kill()
            text, _ = proc.communicate()
        if proc.returncode != 0:
            failed[role] = text[text.find("FAILURES"):][:3000] if "FAILURES" in text else text[-3000:]
    assert not failed, "\n\n".join(f"--- {role}\n{text}" for role, text in failed.items())
