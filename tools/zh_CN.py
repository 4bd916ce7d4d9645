"""Build the zh_CN catalog: `python tools/zh_CN.py` merges the tables in
tools/i18n/*.py (one per feature, msgid -> Chinese), writes messages.po and
compiles messages.mo. Commit all three; tests check no message is missing."""
import importlib.util
from pathlib import Path

HERE = Path(__file__).resolve().parent


def table() -> dict:
    merged: dict = {}
    for path in sorted((HERE / "i18n").glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"i18n_{path.stem}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for msgid, text in mod.ZH.items():
            if msgid in merged and merged[msgid] != text:
                raise SystemExit(f"{path.name}: '{msgid}' is translated differently elsewhere")
            merged[msgid] = text
    return merged


def main() -> None:
    import io
    from pathlib import Path

    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import write_po

    folder = Path(__file__).resolve().parent.parent / "server/translations/zh_CN/LC_MESSAGES"
    folder.mkdir(parents=True, exist_ok=True)
    from datetime import datetime
    fixed = datetime(2026, 1, 1)  # a fixed date keeps the files byte-stable
    cat = Catalog(locale="zh_CN", project="qrate", charset="utf-8", creation_date=fixed,
                  revision_date=fixed)
    for msgid, text in sorted(table().items()):
        cat.add(msgid, text)
    buf = io.BytesIO()
    write_po(buf, cat, omit_header=False, sort_output=True)
    (folder / "messages.po").write_bytes(buf.getvalue())
    buf = io.BytesIO()
    write_mo(buf, cat)
    (folder / "messages.mo").write_bytes(buf.getvalue())


if __name__ == "__main__":
    main()
