"""CSV and XLSX exports open and hold the same numbers as the API."""
import csv
import io

import pytest
from openpyxl import load_workbook

from server.i18n import translate
from server.readside import tables
from test_stats_figures import world  # noqa: F401  (the hand-made history fixture)

pytestmark = pytest.mark.api

RANGE = {"from": "2026-03-02", "to": "2026-03-03"}


def api_rows(world, what):
    r = world["client"].get(f"/api/stats/{what}", query_string=RANGE, headers=world["manager"])
    assert r.status_code == 200
    return r.get_json()["rows"]


def expected(dim, rows):
    keys, _, table = tables.flat(dim, rows)
    return keys, table


@pytest.mark.parametrize("what", ["windows", "staff", "services", "hours", "days"])
def test_csv_equals_the_api(world, what):  # noqa: F811
    dim = tables.DIMENSIONS[what]
    rows = api_rows(world, what)
    r = world["client"].get(f"/api/stats/{what}", query_string={**RANGE, "format": "csv"},
                            headers=world["manager"])
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    text = r.data.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    header, body = table[0], table[1:]
    keys = [h.split(" ")[-1] for h in header]
    assert header[0].startswith(translate(tables.KEY_LABELS[dim], "zh_CN"))      # Chinese label first
    assert len(body) == len(rows) > 0
    for line, row in zip(body, rows):
        got = dict(zip(keys, line))
        assert got[dim] == str(row[dim])
        assert got["served"] == str(row["served"])
        for k in ("wait_s.mean", "wait_s.p50", "wait_s.p90", "service_s.max", "good_rate",
                  "no_show_rate", "levels.5", "participation"):
            section, _, field = k.partition(".")
            value = row[section][field] if field else row[section]
            assert (got[k] == "" if value is None else float(got[k]) == pytest.approx(value)), k


@pytest.mark.parametrize("what", ["windows", "services", "hours"])
def test_xlsx_equals_the_api(world, what):  # noqa: F811
    dim = tables.DIMENSIONS[what]
    rows = api_rows(world, what)
    r = world["client"].get(f"/api/stats/{what}", query_string={**RANGE, "format": "xlsx"},
                            headers=world["manager"])
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.data), read_only=True)
    sheet = list(wb.active.iter_rows(values_only=True))
    keys = [h.split(" ")[-1] for h in sheet[0]]
    exp_keys, exp_table = expected(dim, rows)
    assert keys == exp_keys
    assert len(sheet) - 1 == len(exp_table)
    for line, want in zip(sheet[1:], exp_table):   # every cell, numbers as numbers
        for got, value in zip(line, want):
            if isinstance(value, float):   # Excel keeps 15 significant digits
                assert got == pytest.approx(value, rel=1e-14)
            else:
                assert got == value
    wb.close()


def test_english_headers(world):  # noqa: F811
    r = world["client"].get("/api/stats/services", query_string={**RANGE, "format": "csv", "lang": "en"},
                            headers=world["manager"])
    header = next(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert header[:3] == ["service", "name", "issued"]
