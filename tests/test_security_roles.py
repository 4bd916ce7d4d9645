"""The role matrix, generated from the route registry: every API route × every kind of
caller, with the answer each cell must get. A route added without its row fails here.

Cells: "ok" (the role may call it: neither 401 nor 403, never 5xx), "deny" (401 without
a token, 403 with one), "refused" (the role passes, the hall's rules may still refuse:
never 401, never 5xx; a clerk at another window). Window-scoped routes are called for
window 1 with its tickets; integer ids above 2^63 answer 4xx for every caller.
"""
from __future__ import annotations

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.api

CALLERS = ("none", "kiosk", "pad", "keypad", "display", "clerk1", "clerk2", "manager", "admin",
           "integration")
MANAGERS = {"manager", "admin"}

# who may call each route: the categories below turn into one expected answer per caller
ROUTES = {
    ("GET", "/openapi.json"): "anyone",
    ("GET", "/services"): "anyone",
    ("GET", "/windows"): "anyone",
    ("GET", "/queue"): "anyone",
    ("POST", "/tickets"): "kiosk",
    ("GET", "/tickets/<int:id>"): "token",
    ("GET", "/status/<key>"): "anyone",
    ("POST", "/windows/<int:window>/call-next"): "window",
    ("POST", "/windows/<int:window>/call"): "window",
    ("POST", "/tickets/<int:id>/recall"): "ticket",
    ("POST", "/tickets/<int:id>/no-show"): "ticket",
    ("POST", "/tickets/<int:id>/finish"): "ticket",
    ("POST", "/tickets/<int:id>/park"): "ticket",
    ("POST", "/tickets/<int:id>/transfer"): "clerk",
    ("POST", "/tickets/<int:id>/cancel"): "clerk",
    ("POST", "/windows/<int:window>/pause"): "window",
    ("POST", "/windows/<int:window>/resume"): "window",
    ("POST", "/ratings"): "pad",
    ("POST", "/login"): "anyone",
    ("POST", "/logout"): "user",
    ("GET", "/me"): "token",
    ("GET", "/pad/state"): "pad",
    ("GET", "/ratings"): "manager",
    ("GET", "/ratings/flags"): "manager",
    ("GET", "/cases"): "manager",
    ("GET", "/cases/<int:case_id>"): "manager",
    ("POST", "/cases/<int:case_id>/steps/<step>"): "manager",
    ("POST", "/cases/<int:case_id>/notes"): "manager",
    ("POST", "/cases/<int:case_id>/owner"): "manager",
    ("POST", "/cases/<int:case_id>/rerate"): "manager",
    ("POST", "/cases/<int:case_id>/close"): "manager",
    ("POST", "/cases/<int:case_id>/appeal"): "clerk",
    ("POST", "/cases/<int:case_id>/appeal/decision"): "manager",
    ("GET", "/devices/serial"): "manager",
    ("GET", "/notice"): "anyone",
    ("PUT", "/notice"): "manager",
    ("GET", "/display/board"): "anyone",
    ("GET", "/me/today"): "user",
    ("GET", "/stats/windows"): "manager",
    ("GET", "/stats/staff"): "manager",
    ("GET", "/stats/services"): "manager",
    ("GET", "/stats/hours"): "manager",
    ("GET", "/stats/days"): "manager",
    ("GET", "/stats/live"): "manager",
    ("GET", "/stats/scorecard"): "manager",
    ("GET", "/stats/rankings"): "manager",
    ("GET", "/stats/pairs"): "manager",
    ("GET", "/stats/trend"): "manager",
    ("GET", "/printer"): "token",
    ("POST", "/tickets/<int:id>/reprint"): "manager",
    ("GET", "/print-jobs"): "manager",
    ("GET", "/voice/call/<number>/<int:window>.wav"): "anyone",
    ("GET", "/manage/settings"): "manager",
    ("GET", "/config"): "manager",
    ("PUT", "/config"): "manager",
    ("GET", "/config/changes"): "manager",
    ("GET", "/config/commitments"): "anyone",
    ("POST", "/config/staff/<employee_no>/photo"): "manager",
    ("GET", "/voice/guide/<name>.wav"): "anyone",
    # appointments and phone tickets (docs/appointments.md)
    ("GET", "/appointments/services"): "anyone",
    ("GET", "/slots"): "anyone",
    ("POST", "/appointments"): "anyone",
    ("GET", "/appointments"): "manager",
    ("GET", "/appointments/status/<key>"): "anyone",
    ("DELETE", "/appointments/<code>"): "code_holder",
    ("POST", "/appointments/<code>/check-in"): "kiosk",
    ("POST", "/appointments/check-in"): "kiosk",
    ("POST", "/remote-tickets"): "anyone",
    ("POST", "/status/<key>/check-in"): "kiosk",
    ("GET", "/stats/appointments"): "manager",
    ("POST", "/door/check-in"): "anyone",
    ("GET", "/door"): "manager",
    ("GET", "/appointments/notices"): "manager",
    # citizens: help, alerts, their own ticket (docs/citizens.md)
    ("POST", "/help"): "citizen_device",
    ("POST", "/help/<int:call_id>/ack"): "clerk",
    ("GET", "/alerts"): "manager",
    ("POST", "/status/<key>/cancel"): "anyone",
    ("POST", "/devices/health"): "agent_device",
    ("GET", "/devices/hid"): "manager",
    ("PUT", "/me/language"): "user",
    ("GET", "/me/language"): "user",
    ("GET", "/help"): "clerk",
    # planning (docs/planning.md)
    ("GET", "/plan"): "manager",
    # assessment, commitments, feedback, training (docs/assessment.md)
    ("GET", "/stats/assessment"): "manager",
    ("POST", "/commitments"): "manager",
    ("GET", "/commitments"): "manager",
    ("GET", "/commitments/report"): "manager",
    ("GET", "/pledges"): "anyone",
    ("POST", "/feedback"): "key_or_kiosk",
    ("GET", "/feedback"): "manager",
    ("POST", "/feedback/<int:id>/reply"): "manager",
    ("GET", "/feedback/<int:id>"): "manager",
    ("GET", "/status/<key>/feedback"): "anyone",
    ("GET", "/training/catalogue"): "manager",
    ("GET", "/training/suggestions"): "manager",
    ("POST", "/training/records"): "manager",
    ("GET", "/training/records"): "manager",
    ("GET", "/training/before-after"): "manager",
    # ratings of a case (一次一评, docs/ratings.md)
    ("POST", "/windows/<int:window>/rating-request"): "integration",
    ("GET", "/evaluation/content"): "token",
    # printers per kiosk (docs/printing.md)
    ("GET", "/printers"): "token",
    ("PUT", "/devices/<name>/printer"): "admin",
    # a manager signs a clerk out of a window (docs/api.md)
    ("POST", "/windows/<int:window>/sign-out"): "manager",
}

ALLOWED = {
    "anyone": set(CALLERS),
    "token": set(CALLERS) - {"none"},
    "kiosk": {"kiosk"} | MANAGERS,
    "pad": {"pad"},
    "window": {"keypad", "clerk1"} | MANAGERS,  # window 1's keypad and clerk
    "ticket": {"keypad", "clerk1", "clerk2"} | MANAGERS,
    "clerk": {"clerk1", "clerk2"} | MANAGERS,
    "user": {"clerk1", "clerk2"} | MANAGERS,
    "manager": MANAGERS,
    "citizen_device": {"kiosk", "pad"},
    "agent_device": {"kiosk", "pad", "keypad"},  # qrate agent's token (docs/usb-hid.md)
    "key_or_kiosk": {"kiosk"},  # or anyone with the ticket's key in the body (none here)
    "code_holder": {"none", "integration"} | MANAGERS,  # a citizen holding the code, no token
    "integration": {"integration"} | MANAGERS,
    "admin": {"admin"},
}


def expected(category: str, caller: str) -> str:
    if caller in ALLOWED[category]:
        return "refused" if caller == "clerk2" and category in ("ticket", "clerk") else "ok"
    if category == "window" and caller == "clerk2":
        return "deny"  # the right role, at another window: 403
    return "deny"


BODIES = {
    "/tickets": {"service": "A"},
    "/windows/<int:window>/call": {"ticket": "T", "reason": "asked at the desk"},
    "/tickets/<int:id>/park": {"note": ""},
    "/tickets/<int:id>/transfer": {"service": "B"},
    "/tickets/<int:id>/cancel": {"reason": ""},
    "/windows/<int:window>/pause": {"reason": ""},
    "/ratings": {"ticket": "T", "score": 5},
    "/login": {"user": "nobody", "password": "wrong"},
    "/cases/<int:case_id>/steps/<step>": {"note": "called back"},
    "/cases/<int:case_id>/notes": {"text": "note"},
    "/cases/<int:case_id>/owner": {"owner": "9001"},
    "/cases/<int:case_id>/rerate": {"score": 4},
    "/cases/<int:case_id>/close": {"text": "done"},
    "/cases/<int:case_id>/appeal": {"reason": "the citizen rated the wrong window"},
    "/cases/<int:case_id>/appeal/decision": {"uphold": False, "reason": "no"},
    "/notice": {"text": "请保管好随身物品"},
    "/appointments/check-in": {"phone_last4": "1234", "name": "张三"},
    "/commitments": {"staff": "1001", "year": 2026, "text": "承诺",
                     "targets": [{"figure": "wait_s.mean", "target": 600}]},
    "/feedback/<int:id>/reply": {"reply": "已处理"},
    "/training/records": {"staff": "1001", "item": "X", "day": "2026-12-01"},
    "/feedback": {"text": "很好的服务"},
    "/help": {},
    "/devices/health": {"devices": []},
    "/me/language": {"language": "en"},
    "/windows/<int:window>/rating-request": {"case_no": "BJ1", "matter_code": "M1", "matter_name": "事项"},
    "/devices/<name>/printer": {"printer": None},
}


def fill(rule: str, ticket: int, big: bool = False) -> str:
    n = str(2 ** 64) if big else None
    return (rule.replace("<int:window>", n or "1").replace("<int:id>", n or str(ticket))
            .replace("<int:case_id>", n or "1").replace("<step>", "callback")
            .replace("<key>", "nokey").replace("<number>", "A001").replace("<employee_no>", "1001")
            .replace("<int:call_id>", n or "1").replace("<name>", "tap_service").replace("<code>", "NOCODE"))


@pytest.fixture
def callers(app, client, accounts):
    ops = app.extensions["qrate"]
    heads = {"none": {}, "kiosk": accounts.device("kiosk"), "pad": accounts.device("pad", 1),
             "keypad": accounts.device("keypad", 1), "display": accounts.device("display"),
             "integration": accounts.device("integration"),
             "clerk1": accounts.clerk(1), "clerk2": accounts.clerk(2), "manager": accounts.manager()}
    accounts.user("9100", "admin")
    r = client.post("/api/login", json={"user": "9100", "password": PASSWORD})
    heads["admin"] = {"Authorization": f"Bearer {r.get_json()['token']}"}
    client.delete_cookie("session")  # every cell carries its own token, or none
    return ops, heads


def test_every_route_has_its_row(app):
    registered = {(d.method, d.rule) for d in app.extensions["qrate_api_docs"]}
    assert registered - set(ROUTES) == set(), "a route without a row in the role matrix"
    assert set(ROUTES) - registered == set(), "a row for a route that no longer exists"


def test_every_route_answers_each_caller_as_the_matrix_says(app, callers):
    ops, heads = callers
    client = app.test_client()
    wrong = []
    for (method, rule), category in ROUTES.items():
        # a fresh ticket called at window 1 for each route; the callers allowed go last
        current = ops.window_state(1)["current"]
        if current is not None:
            ops.finish(current["id"])
        if ops.window_state(1)["status"] != "open":
            ops.resume(1)
        t = ops.issue("A")
        ops.call_ticket(1, t["id"])
        for caller in sorted(CALLERS, key=lambda c: expected(category, c) != "deny", reverse=False):
            body = BODIES.get(rule)
            if body is not None:
                body = {k: (t["id"] if v == "T" else v) for k, v in body.items()}
            r = client.open("/api" + fill(rule, t["id"]), method=method, json=body,
                            headers=heads[caller], environ_base={"REMOTE_ADDR": f"10.2.{len(wrong)}.{CALLERS.index(caller)}"})
            want = expected(category, caller)
            if rule == "/login":
                ok = r.status_code == 401  # a wrong password, whoever asks
            elif r.status_code >= 500:
                ok = False
            elif want == "ok":
                ok = r.status_code not in (401, 403)
            elif want == "refused":
                ok = r.status_code != 401
            elif category == "key_or_kiosk":
                ok = r.status_code in (401, 403)  # no key in the body: whoever asks is refused
            else:
                ok = r.status_code == (401 if caller == "none" else 403)
            if not ok:
                wrong.append(f"{method} {rule} as {caller}: {r.status_code} (want {want}) "
                             f"{(r.get_json(silent=True) or {}).get('error', {}).get('code')}")
            if method == "POST" and rule == "/logout" and r.status_code == 200:
                heads.update(_relogin(client, caller))
            if rule == "/windows/<int:window>/sign-out" and r.status_code == 200:
                heads.update(_relogin(client, "clerk1"))  # window 1's clerk was signed out
    assert not wrong, "\n".join(wrong)


def _relogin(client, caller) -> dict:
    user, window = {"clerk1": ("1001", 1), "clerk2": ("1002", 2), "manager": ("9001", None),
                    "admin": ("9100", None)}[caller]
    r = client.post("/api/login", json={"user": user, "password": PASSWORD, "window": window})
    client.delete_cookie("session")
    return {caller: {"Authorization": f"Bearer {r.get_json()['token']}"}}


def test_ids_above_two_to_the_63_answer_4xx_for_every_caller(app, callers):
    ops, heads = callers
    client = app.test_client()
    bad = []
    for (method, rule), _ in ROUTES.items():
        if "<int:" not in rule:
            continue
        for caller in CALLERS:
            r = client.open("/api" + fill(rule, 0, big=True), method=method, json=BODIES.get(rule),
                            headers=heads[caller])
            if not 400 <= r.status_code < 500:
                bad.append(f"{method} {rule} as {caller}: {r.status_code}")
    for path, body in (("/api/windows/1/call", {"ticket": 2 ** 64}), ("/api/ratings", {"ticket": 2 ** 64, "score": 3}),
                       ("/api/login", {"user": "x", "password": "y", "window": 2 ** 64})):
        r = client.post(path, json=body, headers=heads["manager"] if "ratings" not in path else heads["pad"])
        if not 400 <= r.status_code < 500:
            bad.append(f"POST {path} {body}: {r.status_code}")
    assert not bad, "\n".join(bad)
