"""Every stats and manage route, and the `alert` event, is described in docs/stats.md."""
import re

import pytest

from conftest import ROOT
from server.openapi import openapi_path

pytestmark = pytest.mark.api


def test_stats_routes_are_documented(app):
    text = (ROOT / "docs" / "stats.md").read_text(encoding="utf-8")
    routes = [openapi_path(r.rule) for r in app.extensions['qrate_api_docs'] if set(r.tags) & {"stats", "manage"}]
    assert len(routes) >= 10
    for rule in routes:
        tail = rule.rsplit("/", 1)[-1]
        assert re.search(rf"/api{re.escape(rule.rsplit('/', 1)[0])}/[^ `]*{re.escape(tail)}", text) \
            or f"/api{rule}" in text, rule
    assert "`alert`" in text and "managers" in text
