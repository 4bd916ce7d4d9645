"""Every JSON answer of /api/openapi.json is modelled field by field (no bare object), and
the answers a hall in use gives match the document: a ticket issued, called, served and
rated badly (a case), a notice, a citizen's opinion and its reply, a phone ticket, a
commitment. schemathesis (tests/test_security_openapi.py) reaches few of these with data;
this test reads them filled."""
from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from tests.conftest import PASSWORD

pytestmark = pytest.mark.api


def answer_schema(doc: dict, path: str, method: str) -> tuple[str, dict]:
    op = doc["paths"][path][method]
    code = next(c for c in op["responses"] if c.startswith("2"))
    return code, op["responses"][code]["content"]["application/json"]["schema"]


def check(doc: dict, path: str, method: str, r) -> None:
    code, schema = answer_schema(doc, path, method)
    assert str(r.status_code) == code, (method, path, r.status_code, r.get_json())
    validator = Draft202012Validator({**schema, "components": doc["components"]})
    problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(r.get_json())]
    assert not problems, (method, path, problems[:5])


def test_no_json_answer_is_a_bare_object(client):
    doc = client.get("/api/openapi.json").get_json()
    bare = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            for code, resp in op["responses"].items():
                schema = (resp.get("content") or {}).get("application/json", {}).get("schema")
                if code.startswith("2") and schema is not None:
                    target = schema
                    if "$ref" in schema:
                        target = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
                    if not (target.get("properties") or target.get("allOf")):
                        bare.append(f"{method.upper()} {path} {code}")
    assert not bare, "answers without a field-level schema: " + ", ".join(bare)


def test_the_answers_of_a_hall_in_use_match_the_document(app, client, accounts):
    doc = client.get("/api/openapi.json").get_json()
    kiosk, pad = accounts.device("kiosk"), accounts.device("pad", 1)
    clerk = accounts.clerk(1, "1001")
    manager = accounts.manager()

    r = client.post("/api/tickets", json={"service": "A"}, headers=kiosk)
    ticket = r.get_json()
    client.post("/api/windows/1/call-next", headers=clerk)
    client.post(f"/api/tickets/{ticket['id']}/finish", headers=clerk)
    r = client.post("/api/ratings", json={"ticket": ticket["id"], "score": 1, "reasons": ["attitude"]},
                    headers=pad)
    assert r.status_code == 201, r.get_json()
    check(doc, "/api/notice", "put", client.put("/api/notice", json={"text": "午间不停办"}, headers=manager))
    key = ticket["status_url"].rstrip("/").rsplit("/", 1)[1]
    r = client.post("/api/feedback", json={"text": "窗口很热情", "key": key, "phone": "13800001234"})
    check(doc, "/api/feedback", "post", r)
    check(doc, "/api/feedback/{id}/reply", "post",
          client.post(f"/api/feedback/{r.get_json()['id']}/reply", json={"reply": "谢谢您的肯定"},
                      headers=manager))
    check(doc, "/api/status/{key}/feedback", "get", client.get(f"/api/status/{key}/feedback"))
    other = client.post("/api/tickets", json={"service": "B"}, headers=kiosk).get_json()
    other_key = other["status_url"].rstrip("/").rsplit("/", 1)[1]
    check(doc, "/api/status/{key}/cancel", "post", client.post(f"/api/status/{other_key}/cancel"))
    remote = client.post("/api/remote-tickets", json={"service": "A"})
    if remote.status_code == 201:  # where the demo hall allows phone tickets
        check(doc, "/api/remote-tickets", "post", remote)

    today = app.extensions["qrate"].today().isoformat()
    queries = {"/api/stats/trend": "?staff=1001", "/api/training/before-after": f"?staff=1001&day={today}",
               "/api/appointments": f"?day={today}", "/api/slots": f"?service=A&day={today}"}
    callers = {"/api/me/today": clerk, "/api/pad/state": pad}
    read = 0
    for path, item in doc["paths"].items():
        if "get" not in item or "{" in path or path.endswith(".wav"):
            continue
        heads = callers.get(path, manager)
        r = client.get(path + queries.get(path, ""), headers=heads)
        if r.mimetype != "application/json":
            continue  # a download (csv) or a page
        check(doc, path, "get", r)
        read += 1
    assert read >= 40
    # the public board as anyone reads it
    check(doc, "/api/display/board", "get", client.application.test_client().get("/api/display/board"))
    assert PASSWORD
