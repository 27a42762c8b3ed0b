"""One module per ``hexpack`` subcommand: ``HELP``, ``configure``, ``run``.

Commands are thin: they parse arguments, call the library and format what it
returns through ``Output``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # what typing.TYPE_CHECKING is at run time, without loading typing (hexpack build's start-up)
if TYPE_CHECKING:
    from pathlib import Path


def existing_dir(text: str) -> Path:
    """argparse ``type=`` for ``--root DIR``: a missing directory or a file is a usage error, not a silent default."""
    from pathlib import Path  # lazy: start-up time (hexpack build takes no --root; see hexpack.paths)

    path = Path(text)
    if not path.is_dir():
        import argparse  # lazy: start-up time (the quick command-line path runs without argparse)

        raise argparse.ArgumentTypeError(f"{text}: {'not a directory' if path.exists() else 'directory not found'}")
    return path


def add_project_option(parser) -> None:
    """``--project DIR`` (alias ``--root``), an existing directory, stored as ``args.root``."""
    parser.add_argument(
        "--project",
        "--root",
        dest="root",
        type=existing_dir,
        default=".",  # converted by existing_dir, as argparse converts a string default
        metavar="DIR",
        help="project root (default: current directory)",
    )


def add_reader_option(parser) -> None:
    """``--reader``: how a project's mix.exs is read (build, and inspect/diff of a project directory)."""
    parser.add_argument(
        "--reader",
        choices=("auto", "elixir", "static"),
        default="auto",
        help="how to read mix.exs: elixir, static, or auto (default: static when certain, else elixir)",
    )
