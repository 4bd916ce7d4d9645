"""Chinese first: every message id in the code and templates has a zh_CN translation in
the .po a translator edits, and the committed .mo is that .po compiled.

The catalog is checked the way `./dev i18n` (tools/i18n.py) builds it, but into a
temporary folder: this test never rewrites a committed file. The catalog checks are
`unit` (about a second: no server, no database); the page check needs the app (`api`).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("qrate_i18n_tool", ROOT / "tools" / "i18n.py")
i18n_tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(i18n_tool)


@pytest.fixture(scope="module")
def pot(tmp_path_factory) -> Path:
    """The message ids as `pybabel extract -F babel.cfg` finds them today."""
    path = tmp_path_factory.mktemp("i18n") / "messages.pot"
    i18n_tool.extract(path)
    return path


@pytest.mark.unit
def test_extraction_finds_the_messages(pot):
    with pot.open("rb") as f:
        ids = {m.id for m in read_po(f) if m.id}
    # one from each kind of source: Python N_(), translate(), a template's _() and bi()
    for msgid in ("The request is malformed.", "Take a ticket", "Now calling", "Manager dashboard"):
        assert msgid in ids


@pytest.mark.unit
@pytest.mark.parametrize("locale", i18n_tool.LOCALES)
def test_every_message_is_translated(pot, locale):
    found = i18n_tool.problems(pot, i18n_tool.po_path(locale))
    listing = "\n".join(f"  {kind}: {msgid}" for kind, ids in found.items() for msgid in ids)
    assert not listing, (f"{locale}: run ./dev i18n, then translate these in "
                         f"{i18n_tool.po_path(locale).relative_to(ROOT)}:\n{listing}")


@pytest.mark.unit
@pytest.mark.parametrize("locale", i18n_tool.LOCALES)
def test_committed_mo_is_the_po_compiled(tmp_path, locale):
    fresh = tmp_path / "messages.mo"
    i18n_tool.compile_catalog(i18n_tool.po_path(locale), fresh, locale)
    with fresh.open("rb") as f:
        want = i18n_tool.messages(read_mo(f))
    with i18n_tool.mo_path(locale).open("rb") as f:
        have = i18n_tool.messages(read_mo(f))
    stale = sorted(str(k[1]) for k in set(want) | set(have) if want.get(k) != have.get(k))
    assert not stale, f"{locale}: the .mo is not its .po compiled: run ./dev i18n and commit it: {stale[:20]}"


@pytest.mark.unit
def test_js_placeholders_are_gettext_style(pot):
    """The pages' scripts fill in %(name)s (Qrate.fmt); {name} would show as it is."""
    import re
    with pot.open("rb") as f:
        braces = sorted(m.id for m in read_po(f) if isinstance(m.id, str) and re.search(r"\{\w+\}", m.id))
    assert braces == []


@pytest.mark.api
def test_pages_are_translated(client):
    """Templates' _() reach the catalog: Chinese by default, English on request."""
    zh = client.get("/display").get_data(as_text=True)
    en = client.get("/display?lang=en").get_data(as_text=True)
    assert "正在连接" in zh and "Connecting" not in zh
    assert "Connecting" in en and "正在连接" not in en
