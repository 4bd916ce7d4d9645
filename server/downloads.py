"""A flat table as a CSV or XLSX download: the hall's exports and the city's alike."""
from __future__ import annotations

import csv
import io

from flask import Response
from openpyxl import Workbook


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def table_response(name: str, sheet: str, header: list, lines, fmt: str, freeze: str = "B2"):
    """A flat table as a download: CSV (UTF-8 with the BOM Excel needs to show Chinese) or
    XLSX (numbers as numbers, the header row and first columns frozen at ``freeze``)."""
    if fmt == "csv":
        out = io.StringIO()
        out.write("\ufeff")
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(["" if v is None else v for v in line] for line in lines)
        return Response(out.getvalue(), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(header)
    for line in lines:
        ws.append(line)
    ws.freeze_panes = freeze
    buf = io.BytesIO()
    wb.save(buf)
    return Response(buf.getvalue(), mimetype=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
