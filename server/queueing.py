"""Queueing formulas for staffing a hall: Erlang C, Erlang A and a small simulation.

Pure maths (numpy only; no Flask, no SQLite, no other qrate module). Times are in
seconds, rates per second unless a name says otherwise.

- **Erlang C** (M/M/c, nobody leaves): the probability of waiting, the mean wait and
  P(wait <= t) = 1 - C * exp(-(c*mu - lambda) * t)  (Erlang 1917; Gross, Shortle,
  Thompson & Harris, *Fundamentals of Queueing Theory*, 4th ed., section 2.3).
- **Erlang A** (M/M/c+M, Palm 1943): citizens whose patience (exponential, mean
  1/theta) runs out before they are called leave the queue; Garnett, Mandelbaum &
  Reiman (2002), *Designing a call center with impatient customers*, MSOM 4(3), and
  Mandelbaum & Zeltyn's note *The Palm/Erlang-A queue, with applications to call
  centers* (2007). Computed here exactly from the birth-death chain (states truncated
  where their probability is below 1e-15) rather than from the incomplete-gamma form:
  the same numbers without scipy.
- **simulate_mmc**: a discrete-event simulation of the same hall (c windows, FIFO,
  Poisson arrivals, exponential or log-normal service, optional exponential
  patience), used to check the formulas and for windows that serve several services.

What the hall calls a wait is "first call - issue" for every ticket called, served
or no-show. In the Erlang A model a citizen who gives up still holds a number and
is called (a no-show) when the number comes up, so the wait the figures see is the
*offered* wait V (the time until a window would take the ticket), for everyone:
``share_within`` and ``mean_wait`` of Erlang A are those of V. The few seconds a
window spends calling a no-show are not counted as work.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

__all__ = ["erlang_b", "erlang_c", "erlang_c_mean_wait", "erlang_c_share_within",
           "ErlangA", "erlang_a", "Performance", "performance", "windows_needed",
           "simulate_mmc", "SimResult"]


def erlang_b(c: int, a: float) -> float:
    """Erlang's loss formula B(c, a) for c servers and offered load a (erlangs), by the
    stable recursion B(k) = a B(k-1) / (k + a B(k-1))."""
    if c < 0 or a < 0:
        raise ValueError("servers and load must not be negative")
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """The probability that an arrival waits (all c servers busy) at load a = lambda/mu.
    1.0 when the load reaches the servers (the queue grows without end)."""
    if c <= 0 or a >= c:
        return 1.0
    if a <= 0:
        return 0.0
    b = erlang_b(c, a)
    return c * b / (c - a * (1.0 - b))


def erlang_c_mean_wait(c: int, lam: float, mean_service: float) -> float:
    """Mean wait in the queue (every arrival, zero waits included); inf when overloaded."""
    mu = 1.0 / mean_service
    if c * mu <= lam:
        return math.inf
    return erlang_c(c, lam / mu) / (c * mu - lam)


def erlang_c_share_within(c: int, lam: float, mean_service: float, t: float) -> float:
    """P(wait <= t) = 1 - C(c, a) exp(-(c mu - lambda) t); 0 when overloaded."""
    mu = 1.0 / mean_service
    if c * mu <= lam:
        return 0.0
    return 1.0 - erlang_c(c, lam / mu) * math.exp(-(c * mu - lam) * t)


@dataclass(frozen=True)
class ErlangA:
    """The figures of M/M/c+M: p_wait (an arrival finds every server busy), p_abandon,
    mean_wait (of the offered wait V, all arrivals), share_within (P(V <= t)),
    mean_wait_served (the actual wait of those served), queue (mean length)."""
    p_wait: float
    p_abandon: float
    mean_wait: float
    share_within: float
    mean_queue: float


def _erlang_a_chain(c: int, lam: float, mu: float, theta: float):
    """The stationary distribution of the number in system (truncated) and the rates at
    which the queue ahead of a waiting arrival empties."""
    if theta <= 0:
        raise ValueError("Erlang A needs a patience rate theta > 0 (use Erlang C otherwise)")
    logs = [0.0]
    k = 0
    while True:
        k += 1
        death = min(k, c) * mu + max(k - c, 0) * theta
        logs.append(logs[-1] + math.log(lam) - math.log(death))
        # past the servers the terms fall once deaths exceed births; stop when negligible
        if k > c and death > lam and logs[-1] - max(logs) < math.log(1e-15):
            break
        if k > c + 100000:
            break
    logp = np.array(logs)
    p = np.exp(logp - logp.max())
    return p / p.sum()


def erlang_a(c: int, lam: float, mean_service: float, mean_patience: float,
             t: float) -> ErlangA:
    """Erlang A at c servers, arrival rate lam, mean service and mean patience (seconds),
    with the share of the offered wait within t."""
    mu, theta = 1.0 / mean_service, 1.0 / mean_patience
    if c <= 0:
        return ErlangA(1.0, 1.0, math.inf, 0.0, math.inf)
    p = _erlang_a_chain(c, lam, mu, theta)
    n = len(p)
    ks = np.arange(n)
    queued = np.maximum(ks - c, 0)
    mean_queue = float((p * queued).sum())
    p_wait = float(p[c:].sum())
    # An arrival that finds k >= c has i = k - c ahead; V is the sum of exponential
    # stages with rates c mu + m theta, m = i .. 0 (those ahead leave or are served).
    rates = c * mu + np.arange(n - c) * theta           # rate with m ahead
    mean_v_given = np.cumsum(1.0 / rates)               # E[V | i ahead]
    mean_wait = float((p[c:] * mean_v_given).sum())
    p_abandon = theta * mean_queue / lam                # Little's law on the abandoners
    within = _pure_death_within(rates, t)               # P(V <= t | i ahead)
    share = float(p[:c].sum() + (p[c:] * within).sum())
    return ErlangA(p_wait, p_abandon, mean_wait, min(1.0, share), mean_queue)


def _pure_death_within(rates: np.ndarray, t: float) -> np.ndarray:
    """For each i: P(a pure-death chain started with i ahead, leaving state m at rate
    rates[m], has passed state 0 by time t), by uniformization of the backward
    equation (one vector recursion per step: a[i] <- stay[i] a[i] + move[i] a[i-1])."""
    n = len(rates)
    if t <= 0 or n == 0:
        return np.zeros(n)
    big = float(rates.max())
    x = big * t
    stay = 1.0 - rates / big
    move = rates / big
    absorbed = np.zeros(n)       # P(absorbed within k steps | start i)
    out = np.zeros(n)
    kmax = int(x + 12 * math.sqrt(x) + 30)
    logw, wsum = -x, 0.0          # log Poisson(x; k)
    for k in range(kmax + 1):
        w = math.exp(logw)
        wsum += w
        out += w * absorbed
        prev = np.empty(n)
        prev[0] = 1.0
        prev[1:] = absorbed[:-1]
        absorbed = stay * absorbed + move * prev
        logw += math.log(x) - math.log(k + 1)
    out += max(0.0, 1.0 - wsum) * absorbed   # the Poisson tail: absorbed by then
    return np.clip(out, 0.0, 1.0)


@dataclass(frozen=True)
class Performance:
    windows: int
    expected_wait_s: Optional[float]   # None: the queue grows without end
    share_within_target: float
    p_abandon: Optional[float] = None


def performance(c: int, lam: float, mean_service: float, target_s: float,
                mean_patience: Optional[float] = None) -> Performance:
    """Erlang C, or Erlang A when a mean patience is given, at c windows."""
    if lam <= 0:
        return Performance(c, 0.0, 1.0, 0.0 if mean_patience else None)
    if mean_patience:
        r = erlang_a(c, lam, mean_service, mean_patience, target_s)
        return Performance(c, r.mean_wait if math.isfinite(r.mean_wait) else None,
                           r.share_within, r.p_abandon)
    w = erlang_c_mean_wait(c, lam, mean_service)
    return Performance(c, w if math.isfinite(w) else None,
                       erlang_c_share_within(c, lam, mean_service, target_s))


def windows_needed(lam: float, mean_service: float, target_s: float, target_share: float,
                   mean_patience: Optional[float] = None, limit: int = 500) -> int:
    """The fewest windows whose share of waits within target_s reaches target_share
    (0 when nobody comes)."""
    if lam <= 0:
        return 0
    c = max(1, math.floor(lam * mean_service))
    if mean_patience is None:
        c = max(c, math.floor(lam * mean_service) + 1)   # Erlang C needs c > a
    while c < limit:
        if performance(c, lam, mean_service, target_s, mean_patience).share_within_target \
                >= target_share - 1e-12:
            return c
        c += 1
    return limit


# --- simulation --------------------------------------------------------------------

@dataclass(frozen=True)
class SimResult:
    waits: np.ndarray          # the offered wait of every arrival after the warm-up (s)
    served: int
    abandoned: int

    def mean_wait(self) -> float:
        return float(self.waits.mean()) if len(self.waits) else 0.0

    def share_over(self, t: float) -> float:
        return float((self.waits > t).mean()) if len(self.waits) else 0.0


def simulate_mmc(c: int, lam: float, mean_service: float, n: int, rng: np.random.Generator,
                 *, service_cv: float = 1.0, mean_patience: Optional[float] = None,
                 warmup: int = 0, services: Optional[np.ndarray] = None) -> SimResult:
    """n arrivals at rate lam to c FIFO windows. Service times are exponential
    (service_cv = 1) or log-normal with that coefficient of variation, or given.
    With mean_patience, a citizen whose exponential patience ends before a window
    would take them leaves (a no-show: the window skips the ticket at no cost).
    Returns the offered waits (the time until a window would take the ticket)."""
    gaps = rng.exponential(1.0 / lam, n)
    arrivals = np.cumsum(gaps)
    if services is None:
        if service_cv == 1.0:
            services = rng.exponential(mean_service, n)
        else:
            s2 = math.log(1 + service_cv ** 2)
            services = rng.lognormal(math.log(mean_service) - s2 / 2, math.sqrt(s2), n)
    patience = rng.exponential(mean_patience, n) if mean_patience else None
    free = [0.0] * c                  # a heap of the times each window is next free
    heapq.heapify(free)
    waits = np.empty(n)
    served = abandoned = 0
    for i in range(n):
        t0 = arrivals[i]
        start = max(t0, free[0])
        wait = start - t0
        waits[i] = wait
        if patience is not None and patience[i] < wait:
            abandoned += 1            # not there when called: the window moves on
            continue
        heapq.heapreplace(free, start + services[i])
        served += 1
    return SimResult(waits[warmup:], served, abandoned)


def simulate_pool(c: int, rates: list[float], means: list[float], cvs: list[float],
                  targets: list[float], n: int, rng: np.random.Generator,
                  warmup: int = 0) -> tuple[float, float]:
    """c windows that all serve several services first come, first served (a group of
    services sharing windows): Poisson arrivals at ``rates`` (per s), log-normal service
    with those means and coefficients of variation. Returns (mean wait, share of
    citizens whose wait is within their own service's target), steady state."""
    total = float(sum(rates))
    if total <= 0 or c <= 0:
        return (0.0, 1.0) if total <= 0 else (math.inf, 0.0)
    kinds = rng.choice(len(rates), size=n, p=np.asarray(rates) / total)
    arrivals = np.cumsum(rng.exponential(1.0 / total, n))
    means_a, cvs_a = np.asarray(means, float)[kinds], np.maximum(np.asarray(cvs, float)[kinds], 0.05)
    s2 = np.log1p(cvs_a ** 2)
    services = rng.lognormal(np.log(means_a) - s2 / 2, np.sqrt(s2))
    free = [0.0] * c
    waits = np.empty(n)
    for i in range(n):
        t0 = arrivals[i]
        start = free[0] if free[0] > t0 else t0
        waits[i] = start - t0
        heapq.heapreplace(free, start + services[i])
    w, k = waits[warmup:], kinds[warmup:]
    within = w <= np.asarray(targets, float)[k]
    return float(w.mean()), float(within.mean())
