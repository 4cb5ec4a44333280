"""The command line: parse, call the library's front door, print."""

from commitguard.cli.app import main

__all__ = ["main"]
