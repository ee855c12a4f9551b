"""What the command groups share: the --verbose option, and files only their owner may read."""

from __future__ import annotations

import os

import click

VERBOSE = click.option("--verbose", is_flag=True, help="Log each database migration as it runs.")


def private_files() -> None:
    """Files and folders this command writes are its owner's alone (health data, even de-identified)."""
    os.umask(0o077)
