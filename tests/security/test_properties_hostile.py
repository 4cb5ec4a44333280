"""Property tests (hypothesis) of what a pull request's author or an upstream controls (issue 14).

* review rules: which approvals count, from whom, for which files, judged
  against an independent glob matcher and the rule's own words;
* the lock file reader: only ``CommitguardError``, one line naming the
  file; what it accepts is a well-formed lock, read as written;
* the archive reader: only ``ArchiveError``; nothing outside the
  destination is touched; every safe, unambiguous member comes out with its
  content and executable bit;
* the Nix evaluator's size limits: programs that grow values level by
  level end in bounded time, within the allowances, with the exact note.

Every expectation is computed here from the input (``oracles.py`` for the
formats), never by calling the code under test. The ``fuzz/`` targets of the
same names run these checks for longer.
"""

from __future__ import annotations

import io
import json
import os
import stat
import tarfile
import time
import warnings
import zipfile
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import HealthCheck, event, given, settings, target
from hypothesis import strategies as st

from commitguard.errors import CommitguardError
from commitguard.keyring.loader import parse_keyring
from commitguard.nix import limits
from commitguard.nix.evaluator import Evaluator
from commitguard.nix.fetchers import read_package
from commitguard.nix.parser import parse
from commitguard.chain.pin import read_lock
from commitguard.review.rules import evaluate_rules
from commitguard.upstream.archive import ArchiveError, unpack
from tests.oracles import glob_match, lock_is_well_formed

CI = settings(max_examples=200, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


# =========================================================================== review rules

IDS = ["alice", "bob", "carol", "dave", "erin"]
LOGINS = ["alice", "bob", "mallory", "trent", "carol-gh"]
ROLES = ["committer", "security"]
PATTERNS = ["**", "pkgs/**", "pkgs/by-name/**", "pkgs/by-name/he/hello/**", "pkgs/*/", "*.nix",
            "pkgs/by-name/*/*/package.nix", "/lib/**", "doc/", "pkgs/?y-name/**", "**/package.nix", "lib/*.nix"]
FILES = ["pkgs/by-name/he/hello/package.nix", "pkgs/by-name/he/hello/fix.patch", "pkgs/by-name/wo/world/package.nix",
         "lib/strings.nix", "doc/manual.md", "flake.nix", "pkgs/top-level/all-packages.nix", "README.md"]
APPROVER_ENTRIES = IDS + ["maintainers", "role:committer", "role:security", "nobody"]


@st.composite
def review_worlds(draw):
    ids = draw(st.lists(st.sampled_from(IDS), min_size=1, max_size=5, unique=True))
    logins = draw(st.lists(st.sampled_from(LOGINS), min_size=len(ids), max_size=len(ids), unique=True))
    persons = [{"id": i, "github": g if draw(st.booleans()) else None,
                "roles": draw(st.lists(st.sampled_from(ROLES), max_size=2, unique=True))} for i, g in zip(ids, logins)]
    rules = draw(st.lists(st.fixed_dictionaries({
        "paths": st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=3, unique=True),
        "approvers": st.lists(st.sampled_from(APPROVER_ENTRIES), min_size=1, max_size=3, unique=True),
        "approvals": st.integers(1, 3),
        "exclude_author": st.booleans(),
    }), min_size=1, max_size=3))
    changed = draw(st.lists(st.sampled_from(FILES), max_size=5, unique=True))
    maintainers_of = {f: tuple(draw(st.lists(st.sampled_from(IDS + LOGINS), max_size=2))) for f in changed}
    approvals = draw(st.dictionaries(st.sampled_from(IDS + LOGINS), st.sampled_from(["valid", "stale"]), max_size=5))
    authors = set(draw(st.lists(st.sampled_from(IDS + LOGINS), max_size=2)))
    return persons, rules, changed, maintainers_of, approvals, authors


def _keyring_toml(persons, rules) -> bytes:
    def array(items) -> str:
        return "[" + ", ".join(json.dumps(i) for i in items) + "]"

    lines = ["version = 1"]
    for p in persons:
        lines += ["[[person]]", f"id = {json.dumps(p['id'])}", f"roles = {array(p['roles'])}"]
        if p["github"]:
            lines.append(f"github = {json.dumps(p['github'])}")
    for r in rules:
        lines += ["[[rule]]", f"paths = {array(r['paths'])}", f"approvers = {array(r['approvers'])}",
                  f"approvals = {r['approvals']}", f"exclude_author = {str(r['exclude_author']).lower()}"]
    return ("\n".join(lines) + "\n").encode()


@CI
@given(world=review_worlds())
def test_review_rules_count_only_eligible_valid_approvals_and_cover_every_file(world):
    persons, rules, changed, maintainers_of, approvals, authors = world
    try:
        keyring = parse_keyring(_keyring_toml(persons, rules), Path("/nonexistent"),
                                Path("/nonexistent/keyring.toml"), read_file=lambda *_: None)
    except CommitguardError as exc:  # a keyring the loader refuses (e.g. a login that is another person's id)
        assert "\n" not in str(exc) and str(exc).startswith("/nonexistent/keyring.toml: ")
        return
    results, uncovered = evaluate_rules(keyring, changed, approvals, authors, maintainers_of)

    # fail closed: a file no rule's glob matches is reported, every other file is judged by every rule matching it
    assert uncovered == [f for f in changed if not any(glob_match(p, f) for r in rules for p in r["paths"])]
    applying = [r for r in rules if any(glob_match(p, f) for p in r["paths"] for f in changed)]
    # a rule naming `maintainers` is judged per package (no pooling of approval rights across packages):
    # its results, in order, split the rule's files; any other rule gives one result
    pairs = []
    rest = list(results)
    for rule in applying:
        files = [f for f in changed if any(glob_match(p, f) for p in rule["paths"])]
        taken: list = []
        while rest and sorted(f for r in taken for f in r.files) != sorted(files):
            taken.append(rest.pop(0))
        assert sorted(f for r in taken for f in r.files) == sorted(files), (rule, taken)
        if "maintainers" not in rule["approvers"]:
            assert len(taken) == 1 and list(taken[0].files) == files
        else:
            for r in taken:  # each result is one package: its files share a directory
                # (top-level files share the directory ".": rsplit would give each its own name)
                assert len({str(PurePosixPath(f).parent) for f in r.files}) == 1, r.files
        pairs += [(rule, r) for r in taken]
    assert not rest
    by_id = {p["id"]: p for p in persons}
    for rule, result in pairs:
        assert result.required == rule["approvals"]
        handles = {h.lower() for f in result.files for h in maintainers_of.get(f, ())}
        for pid in result.eligible:
            person = by_id[pid]
            named = pid in rule["approvers"] or any(f"role:{r}" in rule["approvers"] for r in person["roles"])
            # a maintainer handle names a person by id, never by GitHub login (another namespace)
            maintains = "maintainers" in rule["approvers"] and pid.lower() in handles
            assert named or maintains, f"{pid} eligible under {rule['approvers']} without being named there"
        for pid in rule["approvers"]:  # a person named outright is eligible unless they wrote the change
            if pid in by_id and not (rule["exclude_author"] and pid in authors):
                assert pid in result.eligible
        assert set(result.approved_by) <= set(result.eligible)
        assert all(approvals.get(p) == "valid" for p in result.approved_by)
        assert all(approvals.get(p) == "stale" for p in result.stale)
        assert set(result.approved_by) == {p for p in result.eligible if approvals.get(p) == "valid"}
        if rule["exclude_author"]:
            assert not (set(result.eligible) | set(result.approved_by)) & authors
        assert result.ok == (len(result.approved_by) >= rule["approvals"])
        # one approval fewer never makes a failing rule pass, one more never makes a passing rule fail
        if result.approved_by:
            fewer = dict(approvals)
            del fewer[result.approved_by[0]]
            again, _ = evaluate_rules(keyring, changed, fewer, authors, maintainers_of)
            assert not again[results.index(result)].ok or result.ok


# =========================================================================== the lock file

HEX = "0123456789abcdef"


@st.composite
def lock_documents(draw):
    rev = draw(st.one_of(st.text(HEX, min_size=40, max_size=40), st.text(HEX.upper(), min_size=40, max_size=40),
                         st.text(HEX, min_size=39, max_size=41), st.integers(), st.none()))
    entry = st.dictionaries(st.sampled_from(["path", "last_change", "chain_digest", "trusted", "x"]),
                            st.one_of(st.text(max_size=12), st.integers(), st.none(), st.booleans(),
                                      st.sampled_from(["pkgs/by-name/he/hello/package.nix", "0" * 40])), max_size=4)
    doc = {"rev": rev, "packages": draw(st.dictionaries(st.text(max_size=8), st.one_of(entry, st.integers()), max_size=3))}
    for key in ("branch", "trust_root"):
        if draw(st.booleans()):
            doc[key] = draw(st.one_of(st.text(max_size=8), st.integers(), st.none()))
    if draw(st.booleans()):
        doc.pop(draw(st.sampled_from(["rev", "packages"])))
    return doc


def _read_lock(tmp_path: Path, data: bytes):
    path = tmp_path / "commitguard.lock"
    path.write_bytes(data)
    try:
        return read_lock(str(path)), None
    except CommitguardError as exc:
        message = str(exc)
        assert "\n" not in message and message.startswith(f"{path}: "), repr(message)
        return None, message


@CI
@given(doc=lock_documents())
def test_lock_reader_accepts_only_well_formed_locks_as_written(tmp_path_factory, doc):
    lock, error = _read_lock(tmp_path_factory.mktemp("lock"), json.dumps(doc).encode())
    if lock is not None:
        assert lock_is_well_formed(doc), doc
        assert lock == doc
    else:
        assert error


@CI
@given(rev=st.text(HEX, min_size=40, max_size=40), paths=st.lists(st.text(min_size=1, max_size=20), min_size=1,
                                                                   max_size=3))
def test_lock_reader_accepts_every_minimal_lock(tmp_path_factory, rev, paths):
    doc = {"rev": rev, "packages": {f"p{i}": {"path": p} for i, p in enumerate(paths)}}
    lock, error = _read_lock(tmp_path_factory.mktemp("lock"), json.dumps(doc).encode())
    assert error is None and lock == doc


@CI
@given(raw=st.binary(max_size=300))
def test_lock_reader_refuses_garbage_with_one_line(tmp_path_factory, raw):
    lock, _ = _read_lock(tmp_path_factory.mktemp("lock"), raw)
    if lock is not None:
        assert lock_is_well_formed(json.loads(raw.decode("utf-8")))


# =========================================================================== the archive reader

SEGMENTS = ["a", "b", "pkg-1.0", "..", ".", "", "x" * 200, "sub dir", "ü"]


@st.composite
def archives(draw):
    members = []
    for _ in range(draw(st.integers(1, 6))):
        name = "/".join(draw(st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=4)))
        if draw(st.integers(0, 9)) == 0:
            name = "/" + name
        kind = draw(st.sampled_from(["file", "file", "dir", "symlink", "hardlink"]))
        if kind != "dir":
            name = name.rstrip("/")  # zip reads a trailing slash as a directory, whatever the mode says
        members.append((name, kind, draw(st.binary(max_size=64)), draw(st.booleans()),
                        draw(st.sampled_from(["../outside/keep", "a", "/etc/passwd", "pkg-1.0"]))))
    return draw(st.sampled_from(["tar", "zip"])), members


def _parents_first(members):
    """Each member preceded by directory entries for its parents (an archive
    with no directory entries is issue 14 item 1, another branch's fix)."""
    out, seen = [], set()
    for name, kind, content, executable, target in members:
        parts = [p for p in name.split("/") if p not in ("", ".")]
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            if parent not in seen and ".." not in parts[:i]:
                seen.add(parent)
                out.append((parent + "/", "dir", b"", False, ""))
        out.append((name, kind, content, executable, target))
    return out


def _write_archive(path: Path, fmt: str, members) -> None:
    if fmt == "tar":
        with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
            for name, kind, content, executable, target in members:
                info = tarfile.TarInfo(name)
                info.mode = 0o755 if executable or kind == "dir" else 0o644
                if kind == "dir":
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                elif kind == "symlink":
                    info.type, info.linkname = tarfile.SYMTYPE, target
                    tar.addfile(info)
                elif kind == "hardlink":
                    info.type, info.linkname = tarfile.LNKTYPE, target
                    tar.addfile(info)
                else:
                    info.size = len(content)
                    tar.addfile(info, io.BytesIO(content))
    else:
        with warnings.catch_warnings(), zipfile.ZipFile(path, "w") as archive:
            warnings.simplefilter("ignore", UserWarning)  # "Duplicate name": a name used twice is part of the test
            for name, kind, content, executable, target in members:
                if kind == "dir":
                    info = zipfile.ZipInfo(name.rstrip("/") + "/")
                    info.external_attr = (stat.S_IFDIR | 0o755) << 16
                    archive.writestr(info, b"")
                    continue
                info = zipfile.ZipInfo(name)
                if kind == "symlink":
                    info.external_attr = (stat.S_IFLNK | 0o777) << 16
                    archive.writestr(info, target)
                else:  # zip has no hard links: a file
                    info.external_attr = (stat.S_IFREG | (0o755 if executable else 0o644)) << 16
                    archive.writestr(info, content)


def _tree(root: Path) -> dict[str, tuple]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st_ = os.lstat(path)
            out[path] = (stat.S_IFMT(st_.st_mode), st_.st_size, st_.st_mtime_ns)
    return out


@CI
@given(spec=archives())
def test_archive_reader_stays_inside_and_unpacks_what_is_safe(tmp_path_factory, spec):
    fmt, members = spec
    members = _parents_first(members)
    sandbox = tmp_path_factory.mktemp("archive")
    (sandbox / "outside").mkdir()
    (sandbox / "outside" / "keep").write_text("outside\n")
    archive_path = sandbox / f"in.{fmt}"
    _write_archive(archive_path, fmt, members)
    dest = sandbox / "dest"
    dest.mkdir()
    before = _tree(sandbox / "outside")
    try:
        unpack(archive_path, dest)
        unpacked = True
    except ArchiveError as exc:
        assert str(exc) and "\n" not in str(exc)
        unpacked = False
    assert _tree(sandbox / "outside") == before
    assert sorted(os.listdir(sandbox)) == sorted(["outside", archive_path.name, "dest"])
    for path, (kind, _, _) in _tree(dest).items():
        assert kind in (stat.S_IFDIR, stat.S_IFREG, stat.S_IFLNK), path

    def parts(name):
        return [p for p in name.split("/") if p not in ("", ".")]

    escaping = [m for m in members if m[0].startswith("/") or ".." in parts(m[0])]
    if escaping:
        assert not unpacked, f"{escaping[0][0]!r} escapes the destination but was unpacked"
        return
    # only plain files and directories, no name used twice or as both: every file comes out as written
    names = [tuple(parts(m[0])) for m in members]
    # (a file whose name ends in a directory, `a/.` or `a/`, is refused: tar cannot open it as a file)
    simple = all(m[1] in ("file", "dir") for m in members) and len(set(names)) == len(names) and all(names) and \
        not any(m[1] == "file" and m[0].rsplit("/", 1)[-1] in ("", ".") for m in members) and \
        not any(n[: len(o)] == o and len(n) > len(o) for n in names for o, m in zip(names, members) if m[1] == "file")
    if simple:
        assert unpacked, members
        for (name, kind, content, executable, _), key in zip(members, names):
            target = dest.joinpath(*key)
            if kind == "file":
                assert target.read_bytes() == content
                assert bool(os.stat(target).st_mode & stat.S_IXUSR) == executable, name
            else:
                assert target.is_dir()


# =========================================================================== Nix evaluation limits

# Operations that keep the kind of value (a type error would end a chain early), by kind.
GROW = {
    "list": ("[ 1 2 ]", ["[ a{p} a{p} ]", "a{p} ++ a{p}", "builtins.concatLists [ a{p} a{p} ]", "map (x: a{p}) [ 1 2 ]",
                         "if a{p} == a{p} then a{p} ++ a{p} else a{p}", "builtins.attrValues {{ l = a{p}; r = a{p}; }}",
                         "builtins.tail (a{p} ++ a{p})", "[ (toString a{p}) ]"]),
    "string": ('"ab"', ["a{p} + a{p}", 'builtins.replaceStrings [ "a" ] [ a{p} ] a{p}',
                        'builtins.concatStringsSep "," [ a{p} a{p} ]', "toString [ a{p} a{p} ]",
                        'lib.versions.pad 100000000 a{p}', "if a{p} == a{p} then a{p} + a{p} else a{p}"]),
    "set": ("{ x = 1; }", ["{{ l = a{p}; r = a{p}; }}", "a{p} // {{ k{i} = a{p}; }}",
                           "builtins.mapAttrs (n: v: a{p}) a{p}", "if a{p} == a{p} then {{ l = a{p}; }} else a{p}",
                           "builtins.listToAttrs (map (n: {{ name = n; value = a{p}; }}) [ \"p\" \"q\" ])"]),
}
USES = {"list": ["passthru.big = a{k};", "configureFlags = [ (toString a{k}) ];", "dontStrip = a{k} == a{k};"],
        "string": ["passthru.big = a{k};", "configureFlags = [ a{k} ];", "dontStrip = a{k} == a{k};"],
        "set": ["passthru.big = a{k};", "dontStrip = a{k} == a{k};", "passthru.names = builtins.attrNames a{k};"]}


@st.composite
def growing_programs(draw) -> str:
    kind = draw(st.sampled_from(sorted(GROW)))
    base, ops = GROW[kind]
    steps = draw(st.lists(st.sampled_from(ops), min_size=22, max_size=40))
    lines = [f"  a0 = {base};"] + [f"  a{i} = " + op.format(p=i - 1, i=i) + ";" for i, op in enumerate(steps, 1)]
    use = draw(st.sampled_from(USES[kind])).format(k=len(steps))
    return ("{ lib, stdenv, fetchurl }:\nlet\n" + "\n".join(lines) + "\nin\nstdenv.mkDerivation {\n"
            '  pname = "p";\n  version = "1.0";\n'
            '  src = fetchurl { url = "https://example.org/p-1.0.tar.gz"; '
            'hash = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="; };\n'
            # every level listed in order: the reader forces each from the one before, never 40 deep at once
            f"  passthru.levels = [ {' '.join(f'a{i}' for i in range(len(steps) + 1))} ];\n"
            f"  {use}\n}}\n")


NIX_PROPERTY_SECONDS = 15.0  # each example takes well under a second on an idle machine


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=growing_programs())
def test_growing_values_stop_at_the_limits_with_the_note(tmp_path_factory, program):
    root = tmp_path_factory.mktemp("nix")
    source = program.encode()
    started = time.monotonic()
    package = read_package(root / "package.nix", source, root=root)
    assert time.monotonic() - started < NIX_PROPERTY_SECONDS
    assert not [n for n in package.notes if n.startswith("static reading failed") or "too deeply" in n], package.notes
    [call] = package.sources
    assert (call.url, call.hash) in (("https://example.org/p-1.0.tar.gz",
                                      "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="), (None, None))

    ev = Evaluator(source, parse(source), root / "package.nix", root=root)
    top = ev.evaluate_file()
    attrs = ev.force(top.attrs)
    for key, value in attrs.items.items():
        if key != "src":
            ev.to_python(value)
    event(f"limit: {ev.limit_reason}")
    target(float(ev.steps + ev.cells + ev.chars // 64), label="work done")
    assert ev.cells <= limits.MAX_BUILT_CELLS + limits.MAX_COLLECTION
    assert ev.chars <= limits.MAX_BUILT_CHARS + limits.MAX_STRING
    assert ev.exhausted == (ev.limit_reason is not None)
    stops = [n for n in package.notes if n.startswith("unresolved: evaluation limit: ")]
    assert len(stops) <= 1
    for note in stops:
        reason = note[len("unresolved: evaluation limit: "):].split("; ")[0]
        assert note == limits.note(reason)
        assert reason in ("more than 200,000 evaluation steps",
                          "more than 1,000,000 list elements and attributes built",
                          "more than 16,777,216 string characters built",
                          "a string of more than 1,048,576 characters",
                          "a list of more than 100,000 elements",
                          "a set of more than 100,000 attributes",
                          "an attribute path of more than 1,000 components"), reason
