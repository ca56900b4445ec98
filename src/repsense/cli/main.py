"""``repsense`` entry point.

Each subcommand lives in ``repsense/cli/cmd_<name>.py`` and defines ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``. Exit codes: 0 success, 1 some inputs
failed, 2 usage error.
"""

from __future__ import annotations

import argparse
import os
import pkgutil
import sys
from importlib import import_module

from .. import __version__


def _commands() -> list:
    import repsense.cli as pkg

    names = sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if m.name.startswith("cmd_"))
    return [import_module(f"repsense.cli.{n}") for n in names]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="repsense",
        description="Count strength-training reps and time under tension from wearable accelerometers.",
    )
    parser.add_argument("--version", action="version", version=f"repsense {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _commands():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Health data: nothing we write is readable by group or others.
    os.umask(0o077)
    try:
        parser = build_parser()  # imports every command: a Ctrl-C can land here on a slow start
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    if not getattr(args, "_run", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        code = int(args._run(args) or 0)
        sys.stdout.flush()
        return code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`repsense count --json ... | head -1`): stop quietly, as Unix tools do
        _silence_stdout()
        return 141
    except OSError as exc:
        if exc.errno is None or not _is_stdout_error(exc):
            raise
        _silence_stdout()
        print(f"error: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
        return 1


def _is_stdout_error(exc: OSError) -> bool:
    """True for errors writing our own standard output (full disk, closed pipe), not for a file."""
    import errno

    return exc.errno in (errno.EPIPE, errno.ENOSPC, errno.EFBIG, errno.EIO) and not getattr(exc, "filename", None)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot raise again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
