"""What an output format renders. The CLI picks one; the library never prints."""

from __future__ import annotations

from abc import ABC

from commitguard.errors import CommitguardError
from commitguard.model.verdicts import VerifyReport


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
        """The whole output of ``check-pr`` for a :class:`commitguard.review.check_pr.CheckReport`."""
        raise CommitguardError(f"--format {self.name} is not available for check-pr", field="--format")

    def sources(self, report) -> str:
        """The whole output of ``sources`` for a :class:`commitguard.upstream.scan.SourcesReport`."""
        raise CommitguardError(f"--format {self.name} is not available for sources", field="--format")

    def annotate(self, report) -> str:
        """The whole output of ``annotate`` for a :class:`commitguard.chain.annotate.AnnotateReport`."""
        raise CommitguardError(f"--format {self.name} is not available for annotate", field="--format")

    def pin(self, report) -> str:
        """The whole output of ``pin`` (and ``pin --check``) for a :class:`commitguard.chain.pin.PinReport`."""
        raise CommitguardError(f"--format {self.name} is not available for pin", field="--format")

    def audit_bump(self, report) -> str:
        """The whole output of ``audit-bump`` for a :class:`commitguard.bump.BumpReport`."""
        raise CommitguardError(f"--format {self.name} is not available for audit-bump", field="--format")


# format name -> (module, class, constructor arguments); only the chosen one is imported:
# the CycloneDX and rich modules alone cost a tenth of a second at start-up.
_FORMATS: dict[str, tuple[str, str, tuple]] = {
    "json": ("commitguard.output.json", "JsonFormatter", ()),
    "text": ("commitguard.output.text", "TextFormatter", ()),
    "markdown": ("commitguard.output.markdown", "MarkdownFormatter", ()),
    "sarif": ("commitguard.output.sarif", "SarifFormatter", ()),
    "cyclonedx": ("commitguard.output.cyclonedx", "CycloneDxFormatter", ()),
    "cyclonedx-1.5": ("commitguard.output.cyclonedx", "CycloneDxFormatter", ("1.5",)),
}


def formatter_for(name: str, *, color: bool = False) -> Formatter:
    import importlib

    try:
        module, cls, args = _FORMATS[name]
    except KeyError:
        raise CommitguardError(f"unknown format {name!r} (choose from {', '.join(_FORMATS)})", field="--format") from None
    formatter = getattr(importlib.import_module(module), cls)
    return formatter(color=color) if name == "text" else formatter(*args)
