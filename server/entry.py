"""The `qrate` console command. `serve` and `demo` run on gevent, whose
monkey-patching must happen before anything else is imported."""
import sys


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] in ("serve", "demo"):
        from gevent import monkey
        monkey.patch_all()
    from .cli import cli
    cli()


if __name__ == "__main__":
    main()
