"""Chinese first: every message id in the code and templates has a zh_CN translation,
and the compiled catalog is the one the tables build."""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo

ROOT = Path(__file__).resolve().parent.parent
MO = ROOT / "server/translations/zh_CN/LC_MESSAGES/messages.mo"


def message_ids() -> set[str]:
    ids = set()
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    for folder in ("server", "devices", "kiosk", "display"):
        for _file, _line, msg, _comments, _ctx in extract_from_dir(
                ROOT / folder, method_map,
                keywords={"_": None, "N_": None, "_t": None, "translate": None, "gettext": None,
                          "ngettext": (1, 2)}):
            if isinstance(msg, tuple):
                ids.update(m for m in msg if m)
            elif msg:
                ids.add(msg)
    return ids


def test_every_message_has_chinese():
    with MO.open("rb") as f:
        catalog = read_mo(f)
    translated = {m.id for m in catalog if m.id and m.string}
    missing = sorted(message_ids() - translated)
    assert missing == [], "add these to tools/i18n/*.py and run tools/zh_CN.py"


def test_catalog_is_built_from_the_tables(tmp_path):
    before = MO.read_bytes()
    subprocess.run([sys.executable, str(ROOT / "tools/zh_CN.py")], check=True, cwd=ROOT)
    assert MO.read_bytes() == before, "run tools/zh_CN.py and commit the catalog"


def test_pages_are_translated(client):
    """Templates' _() reach the catalog: Chinese by default, English on request."""
    zh = client.get("/display").get_data(as_text=True)
    en = client.get("/display?lang=en").get_data(as_text=True)
    assert "正在连接" in zh and "Connecting" not in zh
    assert "Connecting" in en and "正在连接" not in en
