"""The rating docs name every rating/case/device route and every serial frame type.
(That every message has its Chinese is tests/test_i18n.py's, for the whole catalog.)"""
import re

import pytest

from conftest import ROOT
from devices.frames import FIELDS

pytestmark = pytest.mark.api


def test_rating_routes_are_documented(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    norm = lambda text: re.sub(r"\{[^}]+\}", "{}", text)  # noqa: E731  ({case_id} = {id})
    docs = (ROOT / "docs/ratings.md").read_text(encoding="utf-8") + \
        (ROOT / "docs/serial-protocol.md").read_text(encoding="utf-8")
    docs = norm(docs)
    ours = [p for p in paths if re.match(r"/api/(pad|ratings|cases|devices/serial)", p)]
    assert len(ours) >= 12
    for path in ours:
        assert norm(path) in docs, f"{path} is not in docs/ratings.md or docs/serial-protocol.md"


def test_every_frame_type_is_documented():
    text = (ROOT / "docs/serial-protocol.md").read_text(encoding="utf-8")
    for kind in FIELDS:
        assert f"`${kind}," in text, kind
