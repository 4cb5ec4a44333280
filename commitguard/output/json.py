"""JSON: the stable, scriptable form (SPEC lists the keys scripts rely on)."""

from __future__ import annotations

import json

from commitguard.model.verdicts import CommitVerdict, VerifyReport, utc_iso
from commitguard.output.interface import Formatter, KeyringComparison, KeyringImported, KeyringListing


_PIECE = 2048  # commits per write


class _CommitEncoder:
    """``dumps(commit.to_json())``, three times faster.

    Thousands of commits share a key, signer and reason, so the text around
    the two fields that differ per commit (id and signature time) is encoded
    once per distinct verdict and reused. The output is byte for byte that of
    ``to_json`` (tests/cli/test_output_stream.py holds it to that).
    """

    def __init__(self, dumps):
        self._dumps = dumps
        self._around: dict[tuple, tuple[str, str]] = {}

    def encode(self, c: CommitVerdict) -> str:
        sig = c.signature
        shape = (c.status, c.trusted, sig.type, sig.key, c.signer, c.reason, c.vouch)
        around = self._around.get(shape)
        if around is None:
            d = self._dumps
            around = (
                ',"status":%s,"trusted":%s,"signature":{"type":%s,"key":%s,"created":'
                % (d(c.status.value), d(c.trusted), d(sig.type.value if sig.type else None), d(sig.key)),
                '},"signer":%s,"reason":%s,"vouch":%s}'
                % (d(c.signer), d(c.reason), d(c.vouch.to_json() if c.vouch is not None else None)),
            )
            if len(self._around) < 65_536:
                self._around[shape] = around
        return '{"id":' + self._dumps(c.id) + around[0] + self._dumps(utc_iso(sig.created)) + around[1]


class JsonFormatter(Formatter):
    name = "json"

    def verify(self, report: VerifyReport) -> str:
        # No indent: the C encoder is ten times faster on 100,000 commits.
        return _compact(report.to_json())

    def write_verify(self, report: VerifyReport, stream) -> None:
        """The same bytes as :meth:`verify`, written in pieces: a million commits
        as one dict and one string would take more memory than the verdicts."""
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        stream.write('{"ok":%s,"commits":[' % dumps(report.ok))
        commits = report.commits
        encode = _CommitEncoder(dumps).encode
        for start in range(0, len(commits), _PIECE):
            piece = ",".join(map(encode, commits[start : start + _PIECE]))
            stream.write(piece if start == 0 else "," + piece)
        stream.write('],"summary":%s,"warnings":%s' % (dumps(report.summary()), dumps(list(report.warnings))))
        if report.merges is not None:
            stream.write(',"merges":%s' % dumps([m.to_json() for m in report.merges]))
        if report.checkpointing:
            stream.write(',"checkpoint":%s' % dumps(report.checkpoint))
        stream.write("}\n")

    def write_annotate(self, report, stream) -> None:
        """The same bytes as :meth:`annotate`, a package at a time: at 100,000
        packages the whole report as dicts and one string took a gigabyte."""
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        head = report.to_json(packages=False)
        stream.write("{")
        for n, (key, value) in enumerate(head.items()):
            stream.write(("," if n else "") + dumps(key) + ":")
            if key != "packages":
                stream.write(dumps(value))
                continue
            stream.write("[")
            for i, package in enumerate(report.packages):
                stream.write(("," if i else "") + dumps(package.to_json()))
            stream.write("]")
        stream.write("}\n")

    def check_pr(self, report) -> str:
        return _compact(report.to_json())

    def sources(self, report) -> str:
        return _compact(report.to_json())

    def audit_bump(self, report) -> str:
        return _compact(report.to_json())

    def annotate(self, report) -> str:
        return _compact(report.to_json())

    def annotate_closure(self, report) -> str:
        return _compact(report.to_json())

    def pin(self, report) -> str:
        return _indented(report.to_json())

    def keyring_check(self, result) -> str:
        return _indented(result.to_json())

    def keyring_show(self, listing: KeyringListing) -> str:
        policy = listing.policy
        return _indented({
            "persons": [r.to_json() for r in listing.rows if r.kind == "person"],
            "forges": [r.to_json() for r in listing.rows if r.kind == "forge"],
            "policy": {"trust_root": policy.trust_root, "forge": policy.forge,
                       "openpgp_sha1": policy.openpgp_sha1, "openpgp_expiry": policy.openpgp_expiry,
                       "accept": list(policy.accept), "reviews": policy.reviews},
        })

    def keyring_diff(self, comparison: KeyringComparison) -> str:
        return _indented(comparison.result.to_json())

    def keyring_import(self, imported: KeyringImported) -> str:
        report = imported.report
        return _indented({"ok": True, "keyring": imported.keyring, "created": report.created,
                          "changes": list(report.changes), "notes": list(report.notes)})


def _compact(data) -> str:
    """One line, no spaces: the report commands (scripts parse them; the C encoder is fast)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"


def _indented(data) -> str:
    """Indented: what people also read (pin's lock report, keyring commands)."""
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
