"""The plan against a discrete-event simulation of the same model as `qrate simulate`
(server.queueing.simulate_mmc: Poisson arrivals at the plan's rate, log-normal service
with the hall's own mean and spread, the planned windows, first come first served),
with a fixed seed: at the planned windows the promise is kept in at least the planned
share of hours; one window fewer at the peak visibly breaks it."""
import numpy as np
import pytest

from server import queueing as Q
from test_planning import PLAN_DAY, hall, seeded  # noqa: F401  (the seeded hall fixtures)

pytestmark = pytest.mark.api

ARRIVALS = 4000


def _share(row, windows, seed):
    rng = np.random.default_rng(seed)
    lam = row["arrivals_per_h"] / 3600
    res = Q.simulate_mmc(windows, lam, row["mean_service_s"], ARRIVALS, rng,
                         service_cv=row["service_cv"] or 1.0, warmup=400)
    return 1 - res.share_over(row["target_wait_s"])


def test_planned_windows_keep_the_promise_one_fewer_at_the_peak_breaks_it(hall):
    _, client, manager, _ = hall
    plan = client.get(f"/api/plan?day={PLAN_DAY}", headers=manager).get_json()
    rows = [r for r in plan["rows"] if r["arrivals_per_h"] >= 5]
    assert len(rows) >= 20
    share = plan["target_share"]
    kept = [_share(r, r["windows_needed"], 11 + i) >= share for i, r in enumerate(rows)]
    planned = [r["share_within_target"] >= share for r in rows]
    assert sum(kept) / len(kept) >= sum(planned) / len(planned) - 1e-9
    for code in {r["service"] for r in rows}:
        peak = max((r for r in rows if r["service"] == code), key=lambda r: r["arrivals_per_h"])
        if peak["windows_needed"] < 2:
            continue
        fewer = _share(peak, peak["windows_needed"] - 1, 99)
        assert fewer < share - 0.2, (code, peak["hour"], fewer)
