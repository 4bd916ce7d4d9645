"""The `qrate` console command. `serve` and `demo` run on gevent, whose
monkey-patching must happen before anything else is imported."""
import sys


def _hall_file_first(args: list) -> None:
    """`qrate serve` on an invalid hall.toml: its lines at once, before gevent and the web
    stack are loaded (exit 2, never a traceback). The full start checks it again."""
    folder = "."
    for i, a in enumerate(args):
        if a == "--hall" and i + 1 < len(args):
            folder = args[i + 1]
        elif a.startswith("--hall="):
            folder = a.split("=", 1)[1]
    from . import config
    try:
        config.load(folder)
    except config.ConfigError as exc:
        sys.stderr.write("".join(line + "\n" for line in exc.lines))
        raise SystemExit(2)


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] == "serve" and "--help" not in args:
        _hall_file_first(args[1:])
    if args and args[0] in ("serve", "demo"):
        from gevent import monkey
        monkey.patch_all()
    from .cli import cli
    cli()


if __name__ == "__main__":
    main()
