"""What an output format renders. The CLI picks one; the library never prints."""

from __future__ import annotations

from abc import ABC

from commitguard.errors import CommitguardError
from commitguard.model import VerifyReport


class Formatter(ABC):
    """One output format. A format renders the commands it is meant for; asking
    it for another is a usage error (exit 2), never an empty report."""

    name: str

    def verify(self, report: VerifyReport) -> str:
        """The whole output of ``verify`` for this report."""
        raise CommitguardError(f"--format {self.name} is not available for verify", field="--format")

    def write_verify(self, report: VerifyReport, stream) -> None:
        """Write the output of ``verify`` to a text stream; formats whose output
        grows with history override this to write it piece by piece."""
        stream.write(self.verify(report))

    def check_pr(self, report) -> str:
        """The whole output of ``check-pr`` for a :class:`commitguard.checkpr.CheckReport`."""
        raise CommitguardError(f"--format {self.name} is not available for check-pr", field="--format")

    def sources(self, report) -> str:
        """The whole output of ``sources`` for a :class:`commitguard.sources.scan.SourcesReport`."""
        raise CommitguardError(f"--format {self.name} is not available for sources", field="--format")

    def annotate(self, report) -> str:
        """The whole output of ``annotate`` for a :class:`commitguard.annotate.AnnotateReport`."""
        raise CommitguardError(f"--format {self.name} is not available for annotate", field="--format")

    def pin(self, report) -> str:
        """The whole output of ``pin`` (and ``pin --check``) for a :class:`commitguard.pin.PinReport`."""
        raise CommitguardError(f"--format {self.name} is not available for pin", field="--format")

    def audit_bump(self, report) -> str:
        """The whole output of ``audit-bump`` for a :class:`commitguard.audit_bump.BumpReport`."""
        raise CommitguardError(f"--format {self.name} is not available for audit-bump", field="--format")


def formatter_for(name: str, *, color: bool = False) -> Formatter:
    from commitguard.output.cyclonedx import CycloneDxFormatter
    from commitguard.output.json import JsonFormatter
    from commitguard.output.markdown import MarkdownFormatter
    from commitguard.output.sarif import SarifFormatter
    from commitguard.output.text import TextFormatter

    formats: dict[str, Formatter] = {
        "json": JsonFormatter(),
        "text": TextFormatter(color=color),
        "markdown": MarkdownFormatter(),
        "sarif": SarifFormatter(),
        "cyclonedx": CycloneDxFormatter(),
        "cyclonedx-1.5": CycloneDxFormatter("1.5"),
    }
    try:
        return formats[name]
    except KeyError:
        raise CommitguardError(f"unknown format {name!r} (choose from {', '.join(formats)})", field="--format") from None
