"""qrate: the queue-and-rating system of a public service hall.

The package holds the server: the queue engine (engine.py), storage (store.py,
schema.py), the service layer (operations.py), the read side (readside/), the
web layer (web.py and the api_* route modules, realtime.py, the console and the
dashboard) and the app factory (app.py: ``create_app``). docs/architecture.md
draws the layers and which may import which.
"""
from .version import __version__

__all__ = ["__version__"]
