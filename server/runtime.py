"""Where blocking work runs. Under `qrate serve` the web side is gevent; device
I/O and long reports go to gevent's pool of real OS threads so they never
stall a push. Elsewhere (tests, tools) they simply run in the caller."""
from __future__ import annotations


def gevent_active() -> bool:
    try:
        from gevent import monkey
    except ImportError:  # pragma: no cover
        return False
    return monkey.is_module_patched("socket")


def run_blocking(fn, *args, **kwargs):
    """Run fn in a real OS thread when the loop is gevent's, and wait for it cooperatively."""
    if gevent_active():
        import gevent
        return gevent.get_hub().threadpool.apply(fn, args, kwargs)
    return fn(*args, **kwargs)
