"""The report process's own side (server/readside/worker.py starts it as
`python -m server.readside.child`): answer reports until stdin closes."""
from __future__ import annotations

import pickle
import sys

from ..store import connect
from .worker import ReportProcessError, receive, send


def main() -> None:
    """The child: answer reports until stdin closes."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but answers goes to the parent's pipe
    try:
        db_path, cfg = receive(stdin)
    except EOFError:
        return
    db = connect(db_path)
    try:
        while True:
            try:
                fn, args, kwargs = receive(stdin)
            except EOFError:
                return
            try:
                answer = ("ok", fn(db, cfg, *args, **kwargs))
            except Exception as exc:  # noqa: BLE001 - raised again in the parent
                answer = ("error", exc)
            if db.conn.in_transaction:
                db.conn.rollback()
            try:
                send(stdout, answer)
            except (BrokenPipeError, ConnectionResetError):
                return  # the server stopped while we answered: nobody is left to read it
            except (pickle.PickleError, TypeError, AttributeError) as exc:
                send(stdout, ("error", ReportProcessError(f"unpicklable answer: {exc}")))
    finally:
        db.close()


if __name__ == "__main__":
    try:
        main()
    except (BrokenPipeError, KeyboardInterrupt):
        pass  # the server went away (stopped or killed): a quiet end, not a traceback
