"""Markdown: the check-pr report as a reviewer reads it in a job summary or a PR comment.

It answers, in order: may this be merged; which commits are not trusted and
why; per rule, who has approved and who still may; which approvals were
found but do not count; and the one command that fixes a missing approval.

Commit subjects, file names, reasons and origins are the pull request
author's text: they are escaped so they can neither inject markup or HTML,
nor mention people, nor break a table.
"""

from __future__ import annotations

import re

from commitguard.output.interface import Formatter, vouched_by

MAX_COMMITS = 100
MAX_FILES = 20
MAX_APPROVALS = 50
MAX_UNCOVERED = 50
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
_SPECIAL = {
    "&": "&amp;", "<": "&lt;", "|": "&#124;", "@": "@\u2060", "`": "&#96;", "*": "&#42;",
    "_": "&#95;", "[": "&#91;", "]": "&#93;", "\\": "&#92;", "#": "&#35;", "~": "&#126;", "!": "&#33;",
}


def text(value: object) -> str:
    """Untrusted text as literal markdown, on one line. A word joiner after
    ``@`` keeps GitHub from turning a login into a mention (it would decode an
    entity and still notify)."""
    flat = _CONTROL.sub(" ", str(value))
    return "".join(_SPECIAL.get(ch, ch) for ch in flat)


def code(value: object) -> str:
    """Untrusted text as a code span (safe inside table cells too)."""
    flat = _CONTROL.sub(" ", str(value)).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat.strip() else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def names(items, empty: str = "–") -> str:
    return ", ".join(text(i) for i in items) if items else empty


_SLUG_PART = re.compile(r"^[A-Za-z0-9._-]+$")


def github_slug(repository: str) -> str | None:
    """``github.com/owner/repo`` -> ``owner/repo`` (the form ``--github`` takes),
    only when it is safe to paste into a shell command."""
    parts = repository.split("/")
    if len(parts) == 3 and parts[0] == "github.com" and all(_SLUG_PART.match(p) for p in parts[1:]):
        return f"{parts[1]}/{parts[2]}"
    return None


def _block(out: list[str], lines: list[str]) -> None:
    """Lines, then a blank line; nothing at all when there are none."""
    if lines:
        out.extend(lines)
        out.append("")


def _table(out: list[str], columns: tuple[str, ...], rows: list[str], more: str | None) -> None:
    """A table of the rows shown, then the row saying how many were left out (if any)."""
    out.append("| " + " | ".join(columns) + " |")
    out.append("|" + " --- |" * len(columns))
    out.extend(rows)
    if more:
        out.append(more)
    out.append("")


class MarkdownFormatter(Formatter):
    name = "markdown"

    def check_pr(self, report) -> str:
        pr = report.pull_request
        out: list[str] = []
        title = f"pull request #{pr.number}" if pr.number is not None else f"change {pr.base[:12]}..{pr.head[:12]}"
        out.append(f"## {'✅' if report.ok else '❌'} commitguard: {title} {self._verdict(report)}")
        out.append("")
        if pr.title:
            out.append(f"> {text(pr.title)}")
            out.append("")
        author = f" · opened by {text(pr.author_login)}" if pr.author_login else ""
        out.append(f"Repository {code(pr.repository)} · base {code(pr.base[:12])} · head {code(pr.head[:12])}{author}  ")
        out.append(f"Keyring: {code(report.keyring_source)}")
        out.append("")
        _block(out, [f"> ⚠️ {text(warning)}" for warning in report.warnings])
        self._commits(report, out)
        self._rules(report, out)
        self._rejected(report, out)
        self._uncovered(report, out)
        if not all(r.ok for r in report.rules) or any(r.stale for r in report.rules):
            self._how_to_approve(report, out)
        return "\n".join(out).rstrip("\n") + "\n"

    @staticmethod
    def _verdict(report) -> str:
        if report.ok:
            return "may be merged: every commit is signed by a trusted person and every rule has its approvals"
        problems = []
        untrusted = sum(1 for c in report.commits if not c.trusted)
        if untrusted:
            problems.append(f"{untrusted} untrusted commit{'s' if untrusted != 1 else ''}")
        unmet = sum(1 for r in report.rules if not r.ok)
        if unmet:
            problems.append(f"{unmet} rule{'s' if unmet != 1 else ''} lacking approvals")
        if report.uncovered:
            n = len(report.uncovered)
            problems.append(f"{n} file{'s' if n != 1 else ''} no rule covers")
        return "must not be merged yet: " + ", ".join(problems)

    @staticmethod
    def _commits(report, out: list[str]) -> None:
        untrusted = [c for c in report.commits if not c.trusted]
        out.append(f"### Commits: {len(report.commits)} checked, {len(untrusted)} untrusted")
        out.append("")
        if not report.commits:
            out.append("The pull request adds no commits.")
            out.append("")
            return
        ordered = untrusted + [c for c in report.commits if c.trusted]
        rows = []
        for c in ordered[:MAX_COMMITS]:
            mark = "✅" if c.trusted else "❌"
            detail = text(c.reason) if c.trusted else (f"{text(c.summary)}: " if c.summary else "") + text(c.reason)
            how = vouched_by(c.vouch) if c.trusted else None
            if how:
                detail += f" — vouched by {text(how)}: {text(c.vouch.reason)}"
            rows.append(f"| {code(c.id[:12])} | {mark} {c.status.value} | {text(c.signer) if c.signer else '–'} | {detail} |")
        hidden = len(ordered) - len(rows)
        _table(out, ("commit", "status", "signer", "subject / reason"), rows,
               f"| … | | | {hidden} more (all untrusted ones are listed first) |" if hidden > 0 else None)

    @staticmethod
    def _rules(report, out: list[str]) -> None:
        out.append("### Review rules")
        out.append("")
        if not report.rules:
            out.append("No rule applies to the changed files.")
            out.append("")
        for r in report.rules:
            mark = "✅" if r.ok else "❌"
            package = f" (package {code(r.package)})" if r.package else ""
            out.append(f"#### {mark} {', '.join(code(p) for p in r.paths)}{package}: "
                       f"{len(r.approved_by)} of {r.required} signed approval{'s' if r.required != 1 else ''}")
            out.append("")
            shown = ", ".join(code(f) for f in r.files[:MAX_FILES])
            more = f" and {len(r.files) - MAX_FILES} more" if len(r.files) > MAX_FILES else ""
            out.append(f"- **files:** {len(r.files)}: {shown}{more}")
            out.append(f"- **required:** {r.required} distinct person{'s' if r.required != 1 else ''}")
            out.append(f"- **approved by:** {names(r.approved_by)}")
            out.append(f"- **missing:** {r.missing}")
            if r.stale:
                out.append(f"- **stale** (approved an earlier head; approve again): {names(r.stale)}")
            out.append(f"- **who may approve:** {names(r.eligible, 'nobody in the keyring')}")
            if r.excluded_authors:
                out.append(f"- **excluded** (authors of this pull request cannot approve it): {names(r.excluded_authors)}")
            for note in r.unresolved:
                out.append(f"- note: {text(note)}")
            out.append("")

    @staticmethod
    def _rejected(report, out: list[str]) -> None:
        rejected = [a for a in report.approvals if a.status.value != "valid"]
        counted = {p for r in report.rules for p in r.approved_by}
        uncounted = [a for a in report.approvals if a.status.value == "valid" and a.person not in counted]
        if not rejected and not uncounted:
            return
        out.append("### Approvals that did not count")
        out.append("")
        rows = [(a, a.status.value, a.reason) for a in rejected]
        rows += [(a, "not eligible", "valid, but no rule lets this person approve these files "
                                    "(or they are an author of the pull request)") for a in uncounted]
        lines = []
        for a, status, reason in rows[:MAX_APPROVALS]:
            who = text(a.person) if a.person else (code(a.key) if a.key else "unknown")
            lines.append(f"| {who} | {status} | {text(reason)} | {code(a.origin)} |")
        hidden = len(rows) - len(lines)
        _table(out, ("who", "status", "why", "where"), lines, f"| … | | {hidden} more | |" if hidden > 0 else None)

    @staticmethod
    def _uncovered(report, out: list[str]) -> None:
        if not report.uncovered:
            return
        out.append(f"### Files no rule covers ({len(report.uncovered)})")
        out.append("")
        out.append("A change to a file no `[[rule]]` names is never approved by default; add a rule for it.")
        out.append("")
        for path in report.uncovered[:MAX_UNCOVERED]:
            out.append(f"- {code(path)}")
        if len(report.uncovered) > MAX_UNCOVERED:
            out.append(f"- … and {len(report.uncovered) - MAX_UNCOVERED} more")
        out.append("")

    @staticmethod
    def _how_to_approve(report, out: list[str]) -> None:
        pr = report.pull_request
        slug = github_slug(pr.repository)
        out.append("### How to approve")
        out.append("")
        out.append(f"Review head {code(pr.head)}, then, as one of the people who may approve, "
                   "sign an approval with your own key (`--openpgp-key FPR` for OpenPGP):")
        out.append("")
        out.append("```sh")
        if slug and pr.number is not None:
            out.append(f"git fetch origin pull/{pr.number}/head")
            out.append(f"commitguard approve --github {slug} --pr {pr.number} --ssh-key ~/.ssh/id_ed25519")
        else:
            out.append(f"commitguard approve --base {pr.base} --head {pr.head} --ssh-key ~/.ssh/id_ed25519")
            out.append("git push origin refs/notes/commitguard")
        out.append("```")
        out.append("")
        out.append("The approval counts only for this exact head: a later push makes it stale.")
        out.append("")

    def sources(self, report) -> str:
        resolved, total = report.resolution()
        verified = sum(1 for p in report.packages if p.trusted)
        out = [
            f"## commitguard sources: {verified} of {len(report.packages)} packages verified upstream",
            "",
            f"Fetcher calls resolved statically: {resolved}/{total}.",
            "",
            "| package | version | source | upstream | signer | why |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for p in report.packages:
            main = p.package.sources[0] if p.package.sources else None
            where = code(main.url or main.fetcher) if main else "–"
            out.append(
                f"| {text(p.package.name or p.package.path)} | {text(p.package.version or '–')} | {where} | "
                f"{text(p.upstream.status)} | {text(p.upstream.signer or '–')} | {text(p.upstream.reason)} |"
            )
        for warning in report.warnings:
            out.append(f"\n> {text(warning)}")
        return "\n".join(out) + "\n"

    def audit_bump(self, report) -> str:
        """A pull-request comment: the verdict first, a row per package, then only what needs a human."""
        out: list[str] = []
        findings = [f for p in report.packages for f in p.findings] + list(report.findings)
        flagged = [p for p in report.packages if p.findings or p.kind != "version-bump"]
        icon = "❌" if not report.ok else ("⚠️" if findings else "✅")
        if not report.packages:
            summary = "no package expression changed"
        elif not flagged and not report.findings:
            n = len(report.packages)
            summary = f"{'the' if n == 1 else f'all {n}'} package{'s' if n != 1 else ''}: only version and hash changes"
        else:
            n = len(report.packages)
            summary = (f"{len(flagged)} of {n} package{'s' if n != 1 else ''} "
                       f"need{'s' if len(flagged) == 1 else ''} a look")
        out.append(f"## {icon} commitguard audit-bump: {summary}")
        out.append("")
        if report.title:
            out.append(f"> {text(report.title)}")
            out.append("")
        facts = []
        if report.bot is not None:
            facts.append(f"Bot: **{text(report.bot.name)}** ({text(report.bot.reason)})")
        elif report.author:
            facts.append(f"Opened by {text(report.author)}")
        facts.append(f"base {code(report.merge_base[:12])} · head {code(report.head[:12])}")
        out.append(" · ".join(facts))
        out.append("")
        if report.packages:
            out.append("| package | version | verdict | changes | upstream (old → new) | findings |")
            out.append("| --- | --- | --- | --- | --- | --- |")
            for p in report.packages:
                mark = "✅" if p.kind == "version-bump" and not p.findings else (
                    "❌" if report.fail_on.hits(p, p.findings) else "⚠️")
                version = f"{text(p.old_version or '–')} → {text(p.new_version or '–')}"
                changes = ", ".join(code(c) for c in p.changes[:12]) or "–"
                if len(p.changes) > 12:
                    changes += f" and {len(p.changes) - 12} more"
                codes = ", ".join(sorted({code(f.code) for f in p.findings})) or "–"
                out.append(f"| {text(p.name or p.path)} | {version} | {mark} {p.kind} | {changes} | "
                           f"{self._upstream_cell(p)} | {codes} |")
            out.append("")
        _block(out, [self._finding(f) for f in report.findings])
        for p in flagged:
            self._bump_package(p, out)
        policy = ", ".join(code(n) for n in report.fail_on.names())
        out.append(f"<sub>Fails on: {policy}. Reproduce locally: "
                   f"{code(f'commitguard audit-bump --base {report.merge_base} --head {report.head}')}</sub>")
        return "\n".join(out).rstrip("\n") + "\n"

    def _finding(self, f) -> str:
        return f"- {self._severity(f.severity)} {code(f.code)}: {text(f.message)}"

    @staticmethod
    def _severity(severity: str) -> str:
        return {"high": "🔴 **high**", "medium": "🟠 **medium**"}.get(severity, f"⚪ **{text(severity)}**")

    @staticmethod
    def _upstream_cell(p) -> str:
        old, new = p.upstream_old, p.upstream_new
        if old is None and new is None:
            return "–"
        cell = f"{text(old.status) if old else '–'} → {text(new.status) if new else '–'}"
        if p.same_signer is True:
            cell += " (same signer)"
        elif p.same_signer is False:
            cell += " (**signer changed**)"
        return cell

    def _bump_package(self, p, out: list[str]) -> None:
        version = f"{text(p.old_version or '–')} → {text(p.new_version or '–')}"
        out.append(f"### {text(p.name or p.path)} {version}: {p.kind}")
        out.append("")
        out.append(f"{code(p.path)}")
        out.append("")
        _block(out, [self._finding(f) for f in p.findings])
        if p.tarball is not None and (p.tarball.only_in_tarball or p.tarball.changed):
            out.append(f"Release file {code(p.tarball.url)} against tag {code(p.tarball.tag)} of "
                       f"{code(p.tarball.repository)}:")
            out.append("")
            for label, paths in (("only in the tarball", p.tarball.only_in_tarball),
                                 ("different from the tag", p.tarball.changed)):
                for path in paths[:MAX_FILES]:
                    out.append(f"- {label}: {code(path)}")
                if len(paths) > MAX_FILES:
                    out.append(f"- … and {len(paths) - MAX_FILES} more {label}")
            out.append("")
        if p.details:
            out.append("<details><summary>What changed</summary>")
            out.append("")
            out.append("| change | detail |")
            out.append("| --- | --- |")
            for name in p.changes:
                out.append(f"| {code(name)} | {text(p.details.get(name, '–'))} |")
            out.append("")
            out.append("</details>")
            out.append("")
        for label, evidence in (("old", p.upstream_old), ("new", p.upstream_new)):
            if evidence is not None:
                signer = f" by {text(evidence.signer)}" if evidence.signer else ""
                out.append(f"- upstream {label}: {text(evidence.status)}{signer}: {text(evidence.reason)}")
        if p.upstream_old is not None or p.upstream_new is not None:
            out.append("")

    def annotate(self, report) -> str:
        trusted = sum(1 for p in report.packages if p.trusted)
        out = [
            f"## {'✅' if report.ok else '❌'} commitguard annotate: {trusted} of {len(report.packages)} packages trusted",
            "",
            f"Revision {code(report.rev)}, history since "
            f"{code(report.trust_root) if report.trust_root else 'the first commit'} ({report.commits} commits).",
            "",
        ]
        _block(out, [f"> ⚠️ {text(warning)}" for warning in report.warnings])
        for p in report.packages:
            package = p.sources.package
            out.append(f"### {'✅' if p.trusted else '❌'} {text(package.name or package.path)} "
                       f"{text(package.version or '')}".rstrip())
            out.append("")
            out.append(f"{code(package.path)} · files {code(p.prefix)}")
            out.append("")
            out.append("| link | commit | signer | status | detail |")
            out.append("| --- | --- | --- | --- | --- |")
            for link in p.links[:MAX_COMMITS]:
                mark = "✅" if link.trusted else "❌"
                commit = code(link.commit[:12]) if link.commit else "–"
                status = link.status or link.kind or "–"
                detail = []
                if link.audited_by:
                    detail.append(f"audited by {names(link.audited_by)}")
                if link.role == "merge" and link.merged:
                    detail.append(f"brought in {len(link.merged)} commit(s)")
                if not link.trusted and link.reason:
                    detail.append(text(link.reason))
                elif link.summary:
                    detail.append(text(link.summary))
                out.append(f"| {mark} {link.role} | {commit} | {text(link.signer) if link.signer else '–'} | "
                           f"{text(status)} | {'; '.join(detail) or '–'} |")
            if len(p.links) > MAX_COMMITS:
                out.append(f"| … | | | | {len(p.links) - MAX_COMMITS} more links (use --format json) |")
            out.append("")
            _block(out, [f"- note: {text(note)}" for note in p.notes[:MAX_FILES]])
        return "\n".join(out).rstrip("\n") + "\n"

    def annotate_closure(self, report) -> str:
        summary = report.summary()
        by = summary["trusted_by_match"]
        out = [
            f"## {'✅' if report.ok else '❌'} commitguard annotate --closure: {summary['trusted']} of "
            f"{summary['total']} derivations trusted",
            "",
            f"{text(report.closure.kind)} {code(report.closure.source)} at {code(report.rev)}: by hash {by['hash']}, "
            f"by name {by['name']} trusted; {summary['unmatched']} unmatched.",
            "",
        ]
        _block(out, [f"> ⚠️ {text(warning)}" for warning in report.warnings])
        if summary["weakest_links"]:
            out += ["### Weakest links", "", "| link | commit | signer | status | derivations | packages | reason |",
                    "| --- | --- | --- | --- | --- | --- | --- |"]
            for link in summary["weakest_links"]:
                commit = code(link["commit"][:12]) if link.get("commit") else "–"
                packages = ", ".join(code(p) for p in link.get("packages") or []) or "–"
                out.append(f"| {text(link['link'])} | {commit} | {text(link.get('signer') or '–')} | "
                           f"{text(link.get('status') or '–')} | {link['derivations']} | {packages} | "
                           f"{text(link['reason'] or '–')} |")
            out.append("")
        out += ["### Derivations", "", "| | derivation | match | package | reason |", "| --- | --- | --- | --- | --- |"]
        for r in report.results[:MAX_COMMITS]:
            out.append(f"| {'✅' if r.trusted else '❌'} | {text(r.derivation.name)} | {text(r.match.kind or 'none')} | "
                       f"{code(r.match.package) if r.match.package else '–'} | {text(r.reason) or '–'} |")
        if len(report.results) > MAX_COMMITS:
            out.append(f"| … | | | | {len(report.results) - MAX_COMMITS} more (use --format json) |")
        return "\n".join(out).rstrip("\n") + "\n"
