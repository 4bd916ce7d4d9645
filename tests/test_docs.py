"""The docs name every API route, every Socket.IO event type and every CLI command."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from server import engine
from server.cli import cli
from server.openapi import openapi_path

pytestmark = pytest.mark.api

ROOT = Path(__file__).resolve().parent.parent
# docs/api.md covers the core; each feature's page (docs/ratings.md, ...) its own routes
API_DOC = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md")))


def test_every_route_is_documented(app):
    missing = [f"{r.method} /api{openapi_path(r.rule)}" for r in app.extensions['qrate_api_docs']
               if f"`{r.method} /api{openapi_path(r.rule)}`" not in API_DOC]
    assert missing == []


def test_every_route_is_in_the_openapi_document(app, client):
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    for r in app.extensions['qrate_api_docs']:
        assert r.method.lower() in doc["paths"][f"/api{openapi_path(r.rule)}"]
    ticket_in = doc["components"]["schemas"]["TicketIn"]
    assert ticket_in["properties"]["service"]["maxLength"] == 8


def test_every_event_type_is_documented():
    sources = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "server").rglob("*.py"))
    sources += "".join(p.read_text(encoding="utf-8") for p in (ROOT / "devices").glob("*.py"))
    types = set(re.findall(r"""["']((?:ticket|rating|window|device|print|case|notice)\.[a-z_]+)["']""", sources))
    assert {"ticket.issued", "ticket.called", "window.changed"} <= types
    missing = sorted(t for t in types if f"`{t}`" not in API_DOC)
    assert missing == []


def test_every_cli_command_is_documented():
    docs = API_DOC + (ROOT / "README.md").read_text(encoding="utf-8")

    def walk(group, prefix):
        for name, cmd in group.commands.items():
            if hasattr(cmd, "commands"):
                yield from walk(cmd, prefix + [name])
            else:
                yield " ".join(prefix + [name])
    missing = [c for c in walk(cli, ["qrate"]) if c not in docs]
    assert missing == []
