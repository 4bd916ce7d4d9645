"""The queueing formulas (server/queueing.py) against published values, closed forms
and a simulation of the same model.

Published values:
- Erlang C, M/M/c closed forms (Gross, Shortle, Thompson & Harris, *Fundamentals of
  Queueing Theory*, 4th ed., section 2.3): M/M/2 at a = 1 waits with probability
  2 rho^2 / (1 + rho) = 1/3; M/M/3 at a = 2: P0 = 1/9, C = 4/9, Wq = C / (c mu - lambda).
- The widely reproduced call-centre worked example of the Erlang C formula (Call
  Centre Helper, "Erlang C formula - made simple"): 100 calls in 30 minutes, 180 s
  handling time (A = 10 erlangs), 20 s target: P(wait) = 68.21 % at 11 agents, service
  level 39.0 %, 64.0 %, 79.6 %, 88.8 % at 11, 12, 13, 14 agents; 14 agents meet 80/20.
- Erlang A (Palm; Mandelbaum & Zeltyn 2007, section "theta = mu"): when patience and
  service have the same mean, the number in the hall is Poisson(a) as in M/M/infinity,
  so P(wait) = P(Poisson(a) >= c) and E[queue] = E[(N - c)+]; and as patience grows
  without end Erlang A tends to Erlang C (Garnett, Mandelbaum & Reiman 2002, section 4).
"""
import math

import numpy as np
import pytest

from server import queueing as Q

pytestmark = pytest.mark.unit


def test_erlang_c_closed_forms():
    assert Q.erlang_c(2, 1.0) == pytest.approx(1 / 3, abs=1e-12)
    assert Q.erlang_c(3, 2.0) == pytest.approx(4 / 9, abs=1e-12)
    assert Q.erlang_c(1, 0.7) == pytest.approx(0.7, abs=1e-12)     # M/M/1: P(wait) = rho
    # M/M/3, lambda = 2/min, mu = 1/min: Wq = (4/9) / (3 - 2) min
    assert Q.erlang_c_mean_wait(3, 2 / 60, 60) == pytest.approx(4 / 9 * 60, rel=1e-12)
    # P(wait <= t) = 1 - C exp(-(c mu - lambda) t)
    assert Q.erlang_c_share_within(3, 2 / 60, 60, 30) == pytest.approx(1 - 4 / 9 * math.exp(-0.5))


def test_erlang_c_call_centre_worked_example():
    lam, aht, t = 100 / 1800, 180, 20
    assert Q.erlang_c(11, lam * aht) == pytest.approx(0.6821, abs=5e-5)
    levels = [Q.erlang_c_share_within(c, lam, aht, t) for c in (11, 12, 13, 14)]
    assert [round(x, 3) for x in levels] == pytest.approx([0.390, 0.640, 0.796, 0.888], abs=1.5e-3)
    assert Q.windows_needed(lam, aht, t, 0.80) == 14


def test_overload_has_no_finite_wait():
    assert Q.erlang_c(10, 10.0) == 1.0
    assert Q.erlang_c_mean_wait(10, 10 / 60, 60) == math.inf
    p = Q.performance(10, 10 / 60, 60, 600)
    assert p.expected_wait_s is None and p.share_within_target == 0.0
    assert Q.windows_needed(0, 60, 600, 0.8) == 0


def _poisson_tail(a, c):
    return 1 - sum(math.exp(-a) * a ** k / math.factorial(k) for k in range(c))


@pytest.mark.parametrize("c,a", [(3, 2.5), (5, 6.0), (8, 7.0)])
def test_erlang_a_equal_patience_is_poisson(c, a):
    mean = 100.0
    r = Q.erlang_a(c, a / mean, mean, mean, 60)
    assert r.p_wait == pytest.approx(_poisson_tail(a, c), abs=1e-9)
    queue = sum(math.exp(-a) * a ** k / math.factorial(k) * (k - c) for k in range(c, 120))
    assert r.mean_queue == pytest.approx(queue, abs=1e-9)
    assert r.p_abandon == pytest.approx(queue / a, abs=1e-9)   # theta E[Q] / lambda


def test_erlang_a_tends_to_erlang_c():
    lam, aht = 100 / 1800, 180
    for c in (11, 13):
        r = Q.erlang_a(c, lam, aht, 1e9, 20)
        assert r.p_wait == pytest.approx(Q.erlang_c(c, lam * aht), abs=1e-6)
        assert r.share_within == pytest.approx(Q.erlang_c_share_within(c, lam, aht, 20), abs=1e-6)
        assert r.mean_wait == pytest.approx(Q.erlang_c_mean_wait(c, lam, aht), rel=1e-5)


def test_erlang_a_is_stable_past_the_load_and_needs_fewer_windows():
    # more arrivals than the windows can serve: Erlang C has no answer, Erlang A does
    r = Q.erlang_a(5, 6 / 100, 100, 300, 120)
    assert 0 < r.p_abandon < 1 and math.isfinite(r.mean_wait)
    # impatient citizens leave, so the same promise needs no more windows
    lam, aht = 40 / 3600, 600
    assert Q.windows_needed(lam, aht, 900, 0.8, mean_patience=1200) <= Q.windows_needed(lam, aht, 900, 0.8)


def _ci(values, level_t):
    values = np.asarray(values)
    half = level_t * values.std(ddof=1) / math.sqrt(len(values))
    return values.mean() - half, values.mean() + half


T_29_995 = 2.756   # Student t, 29 degrees of freedom, two-sided 99 %


def test_simulation_agrees_with_erlang_c_within_99_percent_ci():
    """30 independent replications of an M/M/4 hall at 85 % load (fixed seed); the Erlang
    C mean wait and P(wait > t) lie inside the simulation's 99 % confidence intervals."""
    c, aht, t = 4, 120.0, 60.0
    lam = 0.85 * c / aht
    rng = np.random.default_rng(20261201)
    means, overs = [], []
    for _ in range(30):
        r = Q.simulate_mmc(c, lam, aht, 6000, rng, warmup=500)
        means.append(r.mean_wait())
        overs.append(r.share_over(t))
    lo, hi = _ci(means, T_29_995)
    assert lo <= Q.erlang_c_mean_wait(c, lam, aht) <= hi
    lo, hi = _ci(overs, T_29_995)
    assert lo <= 1 - Q.erlang_c_share_within(c, lam, aht, t) <= hi
    # and the interval is tight enough to mean something (a wrong formula falls out)
    assert hi - lo < 0.05


def test_simulation_agrees_with_erlang_a_within_99_percent_ci():
    c, aht, patience, t = 3, 100.0, 300.0, 60.0
    lam = 1.0 * c / aht                      # at the load: only abandonment keeps it stable
    rng = np.random.default_rng(7)
    means, overs, aband = [], [], []
    for _ in range(30):
        r = Q.simulate_mmc(c, lam, aht, 6000, rng, mean_patience=patience, warmup=500)
        means.append(r.mean_wait())
        overs.append(r.share_over(t))
        aband.append(r.abandoned / (r.served + r.abandoned))
    exact = Q.erlang_a(c, lam, aht, patience, t)
    lo, hi = _ci(means, T_29_995)
    assert lo <= exact.mean_wait <= hi
    lo, hi = _ci(overs, T_29_995)
    assert lo <= 1 - exact.share_within <= hi
    lo, hi = _ci(aband, T_29_995)
    assert lo - 0.003 <= exact.p_abandon <= hi + 0.003   # warm-up counts in the abandon share
