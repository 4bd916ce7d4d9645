"""Assessment by post (岗位考评) under /api/stats/assessment: JSON, CSV and XLSX."""
from __future__ import annotations

import csv
import io
import re

from flask import Response, request
from openpyxl import Workbook

from .config import post_of
from .engine import N_
from .readside import assessment
from .web import ApiError, Routes, ops, reader, require

routes = Routes()
route = routes.route

PERIOD = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$")


def _period() -> str:
    period = (request.args.get("period") or ops().today().strftime("%Y-%m")).strip().upper()
    if not PERIOD.match(period):
        raise ApiError(422, "bad_period",
                       N_("period must be a month (2026-03), a quarter (2026-Q1) or a year (2026)."))
    return period


def table_response(name: str, header: list, lines: list, fmt: str):
    """CSV (UTF-8 with the BOM Excel needs for Chinese) or XLSX of a flat table."""
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
    ws.title = "assessment"
    ws.append(header)
    for line in lines:
        ws.append(line)
    ws.freeze_panes = "C2"
    buf = io.BytesIO()
    wb.save(buf)
    return Response(buf.getvalue(),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})


@route("/stats/assessment", "GET",
       "Assessment by post (岗位考评): each clerk's indicators, daily and periodic results "
       "combined, ranked within the post; the distribution of scores", "manager",
       tags=("stats",),
       query=(("period", "2026-03 (a month), 2026-Q1 (a quarter) or 2026 (a year); default this month"),
              ("post", "Only this post code"), ("format", "json (default), csv or xlsx")))
def stats_assessment():
    require("manager")
    period = _period()
    post = request.args.get("post") or None
    cfg = ops().cfg
    known = set(cfg.posts) | {post_of(cfg, "").code}
    if post is not None and post not in known:
        raise ApiError(422, "unknown_post", N_("post '%(post)s' does not exist; known: %(known)s."),
                       post=post[:16], known=", ".join(sorted(known)))
    body = reader().run(assessment.assessment, period=period, post=post)
    fmt = request.args.get("format", "json")
    if fmt in ("csv", "xlsx"):
        english = request.args.get("lang") == "en"
        keys, labels, lines = assessment.flat(body["rows"], "en" if english else "zh_CN")
        header = keys if english else [f"{zh} {key}" for zh, key in zip(labels, keys)]
        return table_response(f"qrate-assessment-{period}", header, lines, fmt)
    if fmt != "json":
        raise ApiError(422, "bad_format", N_("format must be json, csv or xlsx."))
    return body
