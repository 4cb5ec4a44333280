"""What an output format renders. The CLI picks one; the library never prints."""

from __future__ import annotations

from abc import ABC
from dataclasses import dataclass

from commitguard.errors import CommitguardError
from commitguard.model.verdicts import VerifyReport


# The commands that print a report, and the Formatter method rendering each ("check-pr" ->
# check_pr). Every command's output goes through :meth:`Formatter.write`: one way to print.
COMMANDS = ("verify", "check-pr", "sources", "annotate", "annotate --closure", "pin", "audit-bump",
            "keyring check", "keyring show", "keyring diff", "keyring import")
METHODS: dict[str, str] = {command: command.replace(" --", "_").replace("-", "_").replace(" ", "_")
                           for command in COMMANDS}


def vouched_by(vouch) -> str | None:
    """``"audit by bob, carol"`` when something other than the commit's own signature
    vouched for it; None for a signature (the status already says it) or no vouch.

    Every format shows this one phrase, so a reader never mistakes an audited
    commit for a signed one.
    """
    if vouch is None or vouch.kind == "signature":
        return None
    return f"{vouch.kind} by {', '.join(vouch.by)}" if vouch.by else vouch.kind


@dataclass(frozen=True)
class KeyringListing:
    """What ``keyring show`` renders: a row per person or forge, and the policy."""

    rows: tuple
    policy: object


@dataclass(frozen=True)
class KeyringComparison:
    """What ``keyring diff`` renders: the changes, and the two keyrings as the user named them."""

    result: object
    old: str
    new: str


@dataclass(frozen=True)
class KeyringImported:
    """What ``keyring import`` renders: the writer's report on the keyring it wrote."""

    keyring: str
    source: str
    report: object


class Formatter(ABC):
    """One output format. A format renders the commands it is meant for; asking
    it for another is a usage error (exit 2), never an empty report."""

    name: str

    def supports(self, command: str) -> bool:
        """Whether this format renders ``command``: asked before any work is done."""
        method = METHODS[command]
        return getattr(type(self), method) is not getattr(Formatter, method)

    def require(self, command: str) -> "Formatter":
        """This formatter, or the usage error (exit 2) when it cannot render ``command``."""
        if not self.supports(command):
            self._unavailable(command)
        return self

    def write(self, command: str, report, stream) -> None:
        """Write ``command``'s output for ``report`` to a text stream. ``verify``'s
        output grows with history, so it goes through :meth:`write_verify`, which a
        format may override to write piece by piece; the rest are rendered whole."""
        if command == "verify":
            self.write_verify(report, stream)
        elif command == "annotate":
            self.write_annotate(report, stream)
        else:
            stream.write(self.render(command, report))

    def render(self, command: str, report) -> str:
        """``command``'s whole output for ``report``, as one string."""
        return getattr(self, METHODS[command])(report)

    def _unavailable(self, command: str):
        raise CommitguardError(f"--format {self.name} is not available for {command}", field="--format")

    def verify(self, report: VerifyReport) -> str:
        """The whole output of ``verify`` for this report."""
        self._unavailable("verify")

    def write_verify(self, report: VerifyReport, stream) -> None:
        """Write the output of ``verify`` to a text stream; formats whose output
        grows with history override this to write it piece by piece."""
        stream.write(self.verify(report))

    def write_annotate(self, report, stream) -> None:
        """Write the output of ``annotate`` to a text stream; it grows with the
        number of packages, so formats may override this to write package by package."""
        stream.write(self.render("annotate", report))

    def check_pr(self, report) -> str:
        """The whole output of ``check-pr`` for a :class:`commitguard.review.check_pr.CheckReport`."""
        self._unavailable("check-pr")

    def sources(self, report) -> str:
        """The whole output of ``sources`` for a :class:`commitguard.upstream.scan.SourcesReport`."""
        self._unavailable("sources")

    def annotate(self, report) -> str:
        """The whole output of ``annotate`` for a :class:`commitguard.chain.annotate.AnnotateReport`."""
        self._unavailable("annotate")

    def annotate_closure(self, report) -> str:
        """The whole output of ``annotate --closure`` for a :class:`commitguard.closure.report.ClosureReport`."""
        self._unavailable("annotate --closure")

    def pin(self, report) -> str:
        """The whole output of ``pin`` (and ``pin --check``) for a :class:`commitguard.chain.pin.PinReport`."""
        self._unavailable("pin")

    def audit_bump(self, report) -> str:
        """The whole output of ``audit-bump`` for a :class:`commitguard.bump.BumpReport`."""
        self._unavailable("audit-bump")

    def keyring_check(self, result) -> str:
        """``keyring check`` for a :class:`commitguard.keyring.check.CheckResult`."""
        self._unavailable("keyring check")

    def keyring_show(self, listing: KeyringListing) -> str:
        """``keyring show``."""
        self._unavailable("keyring show")

    def keyring_diff(self, comparison: KeyringComparison) -> str:
        """``keyring diff``."""
        self._unavailable("keyring diff")

    def keyring_import(self, imported: KeyringImported) -> str:
        """``keyring import``."""
        self._unavailable("keyring import")


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


def formatter_for(name: str, *, color: bool = False, terminal: bool = False) -> Formatter:
    """The formatter called ``name``. ``color``: styles in text; ``terminal``: the
    output is a terminal, so text tables may take its width."""
    import importlib

    try:
        module, cls, args = _FORMATS[name]
    except KeyError:
        raise CommitguardError(f"unknown format {name!r} (choose from {', '.join(_FORMATS)})", field="--format") from None
    formatter = getattr(importlib.import_module(module), cls)
    return formatter(color=color, terminal=terminal) if name == "text" else formatter(*args)
