"""``sources``: every package expression, its upstream source, and upstream's signature.

Which files are package expressions: nixpkgs' by-name layout
(``pkgs/by-name/xx/NAME/package.nix``) and any ``package.nix``/``default.nix``
or other ``.nix`` file named on the command line that calls a fetcher.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from commitguard.errors import CommitguardError
from commitguard.keyring.model import Keyring, Policy
from commitguard.model.sources import FetcherCall, PackageExpression, UpstreamEvidence

# A tree larger than this is not walked in one run (nixpkgs has ~40,000 .nix files).
MAX_FILES = 200_000
_SKIP_DIRS = {".git", "node_modules", "result", ".direnv"}


@dataclass(frozen=True)
class PackageSources:
    package: PackageExpression
    upstream: UpstreamEvidence

    @property
    def trusted(self) -> bool:
        return self.upstream.status == "verified" and all(s.resolved for s in self.package.sources)

    def to_json(self) -> dict:
        p = self.package
        out = {
            "path": p.path,
            "name": p.name,
            "version": p.version,
            "sources": [s.to_json() for s in p.sources],
            "upstream": self.upstream.to_json(),
            "notes": list(p.notes),
            "trusted": self.trusted,
        }
        from commitguard.nix.fetchers import HASH_ATTRS  # the reader loads tree-sitter: only when needed

        dependencies = {key: p.attrs[key] for key in HASH_ATTRS if key in p.attrs}
        if dependencies:
            # vendorHash, cargoHash, npmDepsHash...: the builder's fixed-output
            # fetch of the dependencies a lockfile in the source names, a hash
            # derived from the source (null when it cannot be read), not a release
            out["dependency_hashes"] = dependencies
        return out


@dataclass(frozen=True)
class SourcesReport:
    packages: tuple[PackageSources, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return all(p.trusted for p in self.packages)

    def resolution(self) -> tuple[int, int]:
        calls = [s for p in self.packages for s in p.package.sources]
        return sum(1 for s in calls if s.resolved), len(calls)

    def to_json(self) -> dict:
        resolved, total = self.resolution()
        return {
            "ok": self.ok,
            "packages": [p.to_json() for p in self.packages],
            "summary": {
                "packages": len(self.packages),
                "fetcher_calls": total,
                "resolved": resolved,
                "by_upstream_status": _count(p.upstream.status for p in self.packages),
            },
            "warnings": list(self.warnings),
        }


def _count(values) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def find_expressions(root: Path, paths: list[str]) -> list[Path]:
    """Package expression files under ``paths`` (files or directories) in ``root``."""
    found: list[Path] = []
    targets = [root / p for p in paths] if paths else [root]
    for target in targets:
        resolved = target.resolve()
        if not resolved.is_relative_to(root.resolve()):
            raise CommitguardError("path is outside the repository", path=str(target), field="PATH")
        if resolved.is_file():
            found.append(resolved)
            continue
        if not resolved.is_dir():
            raise CommitguardError("no such file or directory", path=str(target), field="PATH")
        for directory, subdirs, files in os.walk(resolved):
            subdirs[:] = sorted(d for d in subdirs if d not in _SKIP_DIRS)
            for name in sorted(files):
                if name in ("package.nix", "default.nix"):
                    found.append(Path(directory) / name)
                    if len(found) > MAX_FILES:
                        raise CommitguardError(f"more than {MAX_FILES} expression files", path=str(target), field="PATH")
    return found


def scan_sources(
    root: Path,
    paths: list[str],
    keyring: Keyring | None,
    *,
    mirror: Path | None,
    online: bool = False,
    system: str = "x86_64-linux",
    github_api: str | None = None,
    continuity=None,
    nix_eval: bool = False,
    jobs: int | None = None,
    reads=None,
) -> SourcesReport:
    """Every expression under ``paths`` in ``root`` with its upstream evidence.

    ``reads``, when given, are the expressions already read, as ``_read_all``
    yields them ((file, (relative path, expression)) in order): ``annotate``
    reads a revision from git (:mod:`commitguard.upstream.revision_read`).
    """
    from commitguard.nix import nix_eval as nix
    from commitguard.upstream import evaluate_upstream

    warnings: list[str] = []
    if nix_eval and not nix.nix_available():
        warnings.append("nix-instantiate not found: --eval skipped")
        nix_eval = False
    if keyring is None:
        keyring = Keyring(path="(none)", digest="", policy=Policy(), persons=())
        warnings.append("no keyring: no [[upstream]] keys, so no upstream release can be verified")
    packages: list[PackageSources] = []
    base = root.resolve()
    if reads is None:
        reads = _read_all(find_expressions(root, paths), base, system, jobs)
    for path, read in reads:
        if read is None:
            shown = path.relative_to(base) if path.is_relative_to(base) else path
            warnings.append(f"{shown}: a symlink to a file outside the repository, not read")
            continue
        relative, package = read
        if not package.sources:
            if path.name == "default.nix" and not paths:
                continue  # a default.nix that fetches nothing is an aggregate, not a package
        main = _main_source(package)
        if nix_eval:
            attribute = _attribute(Path(relative), package)
            if attribute:
                found = nix.compare(main, nix.evaluate_src(root, attribute, system))
                package = dataclasses.replace(package, notes=package.notes + tuple(found))
        if main is None:
            evidence = UpstreamEvidence(status="unavailable", reason="the expression calls no fetcher that commitguard reads")
        elif not main.resolved:
            evidence = UpstreamEvidence(
                status="unavailable", reason=f"the source cannot be resolved statically ({', '.join(main.unresolved)})"
            )
        else:
            evidence = evaluate_upstream(
                main, keyring, mirror=mirror, online=online, github_api=github_api, continuity=continuity,
                version=package.version,
            )
        packages.append(PackageSources(package, evidence))
    return SourcesReport(packages=tuple(packages), warnings=tuple(warnings))


# Below this many files a process pool costs more than it saves (about 0.1 s to start).
_PARALLEL_FROM = 64


def _read_one(path: Path, base: Path, system: str):
    """(relative path, what the expression says), or None for a symlink out of the
    repository. Pure: the same file gives the same answer in any process."""
    if not path.resolve().is_relative_to(base):
        return None
    try:
        source = path.read_bytes()
    except OSError as exc:
        raise CommitguardError(f"cannot read: {exc.strerror}", path=str(path)) from None
    from commitguard.nix.fetchers import read_package

    relative = str(path.relative_to(base)) if path.is_relative_to(base) else str(path)
    # The absolute path: the reader resolves ``./hashes.json`` and ``import ./x.nix``
    # against the file's own directory, never against the current directory.
    return relative, read_package(path, source, system=system, root=base)


def _read_in_worker(args):
    """A pool worker's answer: errors travel as their one-line message (CommitguardError
    takes keyword arguments, which pickling would not carry back)."""
    try:
        return True, _read_one(*args)
    except CommitguardError as exc:
        return False, str(exc)


def _read_all(files: list[Path], base: Path, system: str, jobs: int | None):
    """Each file with what it says, in the order found. Reading and evaluating an
    expression statically is pure and CPU-bound, so with ``jobs`` > 1 and enough
    files it runs in a pool of processes; the judging that follows (upstream evidence,
    key continuity) stays in this process and in this order."""
    from commitguard.verify.commits import default_jobs

    workers = min(jobs or default_jobs(), len(files))
    if workers < 2 or len(files) < _PARALLEL_FROM:
        for path in files:
            yield path, _read_one(path, base, system)
        return
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(processes=workers) as pool:
        chunk = max(1, len(files) // (workers * 8))
        answers = pool.imap(_read_in_worker, [(path, base, system) for path in files], chunksize=chunk)
        for path, (ok, value) in zip(files, answers):
            if not ok:
                raise CommitguardError(value)
            yield path, value


def _attribute(path: Path, package: PackageExpression) -> str | None:
    """The attribute a package set exposes it as: the by-name directory, else its name."""
    parts = path.parts
    if len(parts) >= 4 and parts[-4] == "by-name":
        return parts[-2]
    return package.name


def _main_source(package: PackageExpression) -> FetcherCall | None:
    """The call evaluation found at ``src`` for this system, else the fetcher bound
    to ``src`` where known, else the first fetcher that
    is neither a patch nor a dependency fetcher (their hashes are derived from
    the source; no upstream release is behind them)."""
    at = package.attrs.get("src_call")
    if isinstance(at, int) and 0 <= at < len(package.sources) and package.sources[at].kind == "source":
        return package.sources[at]
    candidates = [
        s for s in package.sources if s.fetcher not in ("fetchpatch", "fetchpatch2") and s.kind == "source"
    ]
    for call in candidates:
        if call.args.get("_binding") == "src":
            return call
    return candidates[0] if candidates else None
