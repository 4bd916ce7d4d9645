"""The translation flow, in one command: `./dev i18n` (the same as `python tools/i18n.py`).

1. extract: `pybabel extract -F babel.cfg` reads every message id in the Python code
   (_, N_, gettext, translate, _t), the Jinja templates (_ and the bi() macro) and so the
   strings the pages' JavaScript gets from them -> server/translations/messages.pot
2. update:  `pybabel update` merges the template into each locale's catalog,
   server/translations/<locale>/LC_MESSAGES/messages.po. The .po is the source of
   truth: a translator edits it (Poedit, Weblate, a text editor). A new message id
   arrives with an empty msgstr (or a fuzzy guess from a similar one).
3. compile: `pybabel compile` -> messages.mo next to the .po, which the server reads.

Run it after changing any message id, fill in the new msgstr in the .po, and run it
again to compile. tests/test_i18n.py fails, naming them, while any message is missing
from a .po, untranslated or fuzzy, or when a committed .mo is not its .po compiled.
A file is only rewritten when its content changes (the creation date alone is no change).

    python tools/i18n.py            extract + update + compile, then list what needs a translator
    python tools/i18n.py check      only list what needs a translator (changes no file)
"""
from __future__ import annotations

import filecmp
import shutil
import sys
import tempfile
import tomllib
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "server" / "translations"
POT = TRANSLATIONS / "messages.pot"
LOCALES = ("zh_CN",)                                   # English is the message ids themselves
SOURCES = ("server", "devices", "kiosk", "display")   # relative to ROOT; never .venv or tests
# Besides babel's own (_, gettext, ngettext, N_, pgettext...): server.i18n.translate, the
# CLI's `_t`, and the templates' bi(msgid) macro (Chinese first, English second).
KEYWORDS = ("translate", "_t", "bi")


def po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def mo_path(locale: str) -> Path:
    return po_path(locale).with_suffix(".mo")


def _pybabel(*args: str) -> None:
    code = CommandLineInterface().run(["pybabel", "-q", *args])
    if code:
        raise SystemExit(f"pybabel {args[0]} failed ({code})")


def _version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)["project"]["version"]


def extract(pot: Path) -> None:
    """`pybabel extract` into `pot` (any path: the test extracts into a temporary folder)."""
    import os
    here = os.getcwd()
    os.chdir(ROOT)  # locations in the template read server/api.py, not /home/.../server/api.py
    try:
        _pybabel("extract", "-F", "babel.cfg", "-o", str(pot), *(f"--keyword={k}" for k in KEYWORDS),
                 "--add-location=file", "--sort-output", "--add-comments=NOTE:",
                 "--project=qrate", f"--version={_version()}",
                 "--copyright-holder=the qrate authors",
                 "--header-comment=# The message ids of qrate (English): extracted by tools/i18n.py.\n"
                 "# Do not edit: translations go in <locale>/LC_MESSAGES/messages.po.",
                 *SOURCES)
    finally:
        os.chdir(here)


def update(pot: Path, po: Path, locale: str) -> None:
    """`pybabel update` of one catalog from the template, in place."""
    _pybabel("update", "-i", str(pot), "-o", str(po), "-l", locale, "--ignore-pot-creation-date")


def compile_catalog(po: Path, mo: Path, locale: str) -> None:
    """`pybabel compile` of one catalog (fuzzy entries are left out, as gettext does)."""
    _pybabel("compile", "-i", str(po), "-o", str(mo), "-l", locale)


def messages(catalog) -> dict:
    """{(context, msgid): msgstr} of a catalog, without its header."""
    return {(m.context, m.id): m.string for m in catalog if m.id}


def problems(pot: Path, po: Path) -> dict[str, list[str]]:
    """What a translator must do in `po` for the ids in `pot`: missing, untranslated, fuzzy, wrong placeholders."""
    with pot.open("rb") as f:
        template = read_po(f)
    with po.open("rb") as f:
        catalog = read_po(f)
    found = {"missing": [], "untranslated": [], "fuzzy": [], "placeholders": []}
    for msg in template:
        if not msg.id:
            continue
        key = msg.id if isinstance(msg.id, str) else msg.id[0]
        have = catalog.get(msg.id, context=msg.context)
        if have is None:
            found["missing"].append(key)
        elif have.fuzzy:
            found["fuzzy"].append(key)
        elif not (all(have.string) if isinstance(have.string, tuple) else have.string):
            found["untranslated"].append(key)
    for msg, errors in catalog.check():
        if msg.id and not msg.fuzzy and errors:
            found["placeholders"].append(f"{msg.id!r}: " + "; ".join(str(e) for e in errors))
    return found


def _replace_if_changed(new: Path, old: Path, ignore_prefix: bytes = b"") -> bool:
    """Move `new` over `old` unless they differ only in lines starting with `ignore_prefix`."""
    if old.exists():
        if filecmp.cmp(new, old, shallow=False):
            return False
        if ignore_prefix:
            strip = lambda p: [ln for ln in p.read_bytes().splitlines() if not ln.startswith(ignore_prefix)]
            if strip(new) == strip(old):
                return False
    old.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(new, old)
    return True


def report(found: dict[str, list[str]], locale: str) -> int:
    n = sum(len(v) for v in found.values())
    for kind, ids in found.items():
        for msgid in ids:
            print(f"{locale}: {kind}: {msgid}")
    if n:
        print(f"{locale}: {n} message(s) need a translator: edit {po_path(locale).relative_to(ROOT)} "
              "and run ./dev i18n again")
    return n


def main(argv: list[str]) -> int:
    only_check = argv[:1] == ["check"]
    with tempfile.TemporaryDirectory() as tmp:
        pot = Path(tmp) / "messages.pot"
        extract(pot)
        if not only_check and _replace_if_changed(pot, POT, b'"POT-Creation-Date:'):
            print(f"wrote {POT.relative_to(ROOT)}")
        todo = 0
        for locale in LOCALES:
            po, mo = Path(tmp) / f"{locale}.po", Path(tmp) / f"{locale}.mo"
            shutil.copyfile(po_path(locale), po)
            if not only_check:
                update(pot, po, locale)
                if _replace_if_changed(po, po_path(locale), b'"POT-Creation-Date:'):
                    print(f"wrote {po_path(locale).relative_to(ROOT)}")
                compile_catalog(po, mo, locale)
                if _replace_if_changed(mo, mo_path(locale)):
                    print(f"wrote {mo_path(locale).relative_to(ROOT)}")
            todo += report(problems(pot, po), locale)
    return 1 if todo else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
