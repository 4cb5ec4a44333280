"""What an output format renders. The CLI picks one; the library never prints."""

from __future__ import annotations

from abc import ABC, abstractmethod

from commitguard.errors import CommitguardError
from commitguard.model import VerifyReport


class Formatter(ABC):
    name: str

    @abstractmethod
    def verify(self, report: VerifyReport) -> str:
        """The whole output of ``verify`` for this report."""


def formatter_for(name: str, *, color: bool = False) -> Formatter:
    from commitguard.output.json import JsonFormatter
    from commitguard.output.text import TextFormatter

    formats: dict[str, Formatter] = {"json": JsonFormatter(), "text": TextFormatter(color=color)}
    try:
        return formats[name]
    except KeyError:
        raise CommitguardError(f"unknown format {name!r} (choose from {', '.join(formats)})", field="--format") from None
