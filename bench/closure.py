#!/usr/bin/env python3
"""Time ``annotate --closure`` on a synthetic 3,000-derivation closure, cold and warm.

    python bench/closure.py OUTDIR [--packages 10000] [--generated-calls 110000] [--derivations 3000]

Builds (once) under OUTDIR a nixpkgs-shaped repository: ``--packages``
by-name ``package.nix`` files, each with a ``fetchurl`` call and its own
hash, plus ``--generated-calls`` more ``fetchurl`` calls spread over 20
generated files (as nixpkgs' node, hackage and other generated package
sets hold most of its ~120,000 fetcher calls), committed in a few signed
commits (``git commit -S`` with an ssh-keygen key the keyring trusts). Then
writes ``closure.json``, Nix's derivation JSON (``nix show-derivation -r``'s
shape) of ``--derivations`` derivations: half fixed-output sources whose
``outputHash`` is a package's hash (in hex, as Nix records it), half the
packages built from them, each named pname-version. The releases those
packages fetch are in an offline mirror, signed with ``ssh-keygen -Y sign``
by a key the keyring lists as ``[[upstream]]``, so every chain is checked
through to a verified upstream signature. Runs

    commitguard annotate --closure closure.json --repo R --keyring K --trust-root C0 --cache C --format json

with an empty cache (cold: the history index, the hash index and every
candidate's static reading), again (warm), and after one more commit (a
new revision: its tree is indexed reading only the changed blob), and
prints the wall times and what was matched, and the hash index's cold cost
alone. Nothing here is a test: it measures.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def release_bytes(name: str, version: str) -> bytes:
    return f"{name} {version} release tarball\n".encode()


def digest(text: str) -> bytes:
    """The sha256 of the release file of ``name-version``."""
    name, _, version = text.rpartition("-")
    return hashlib.sha256(release_bytes(name, version)).digest()


def package_nix(name: str, version: str) -> str:
    return (f"{{ lib, stdenv, fetchurl }}:\n\nstdenv.mkDerivation (finalAttrs: {{\n  pname = \"{name}\";\n"
            f"  version = \"{version}\";\n\n  src = fetchurl {{\n"
            f"    url = \"https://download.example.org/{name}/{name}-${{finalAttrs.version}}.tar.gz\";\n"
            f"    hash = \"sha256-{base64.b64encode(digest(name + '-' + version)).decode()}\";\n  }};\n}})\n")


def generated_nix(index: int, count: int) -> str:
    lines = ["{ fetchurl }:", "{"]
    for i in range(count):
        name = f"gen{index}-dep{i}"
        lines.append(f"  \"{name}\" = fetchurl {{ url = \"https://registry.example.org/{name}/-/{name}-1.0.0.tgz\"; "
                     f"sha512 = \"sha512-{base64.b64encode(hashlib.sha512(name.encode()).digest()).decode()}\"; }};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def git(repo: Path, *args: str, env: dict | None = None) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}).stdout.strip()


def build_repository(out: Path, packages: int, generated: int, signed: int) -> dict:
    meta_file = out / "meta.json"
    if meta_file.exists():
        return json.loads(meta_file.read_text())
    out.mkdir(parents=True, exist_ok=True)
    key = out / "alice"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice@example.org", "-f", str(key)], check=True)
    upstream = out / "upstream"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "releases", "-f", str(upstream)], check=True)
    keyring = out / "keyring"
    keyring.mkdir()
    pub = (out / "alice.pub").read_text().strip()
    (keyring / "keyring.toml").write_text(f'version = 1\n\n[[person]]\nid = "alice"\nemails = ["alice@example.org"]\n\n'
                                          f'[[person.key]]\nssh = {json.dumps(pub)}\n\n'
                                          f'[[upstream]]\nmatch = "https://download.example.org/"\n'
                                          f'ssh = {json.dumps((out / "upstream.pub").read_text().strip())}\n')
    repo = out / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "master")
    for k, v in (("user.name", "Alice"), ("user.email", "alice@example.org"), ("gpg.format", "ssh"),
                 ("user.signingkey", str(key)), ("commit.gpgsign", "true")):
        git(repo, "config", k, v)
    names = [f"pkg{i:05d}" for i in range(packages)]
    for name in names:
        path = repo / "pkgs" / "by-name" / name[:2] / name / "package.nix"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(package_nix(name, "1.0"))
    per_file = generated // 20
    for i in range(20):
        path = repo / "pkgs" / "development" / "generated" / f"packages-{i}.nix"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(generated_nix(i, per_file))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "init")
    root = git(repo, "rev-parse", "HEAD")
    for round_ in range(20):  # a little history: bumps of a few packages
        for name in names[round_ * 10:(round_ + 1) * 10]:
            (repo / "pkgs" / "by-name" / name[:2] / name / "package.nix").write_text(package_nix(name, f"1.{round_ + 1}"))
        git(repo, "commit", "-q", "-am", f"bump round {round_}")
    versions = {name: "1.0" for name in names}
    for round_ in range(20):
        for name in names[round_ * 10:(round_ + 1) * 10]:
            versions[name] = f"1.{round_ + 1}"
    meta = {"root": root, "packages": packages, "generated": per_file * 20, "versions": versions}
    # the releases of the packages a closure uses, signed by the upstream key, in the offline mirror
    # (ssh-keygen -Y sign, one process each: a few seconds per thousand)
    for name in sorted(versions)[:signed]:
        folder = out / "mirror" / "download.example.org" / name
        folder.mkdir(parents=True, exist_ok=True)
        release = folder / f"{name}-{versions[name]}.tar.gz"
        release.write_bytes(release_bytes(name, versions[name]))
        subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-f", str(upstream), "-n", "file", str(release)], check=True)
    meta_file.write_text(json.dumps(meta))
    return meta


def closure_json(meta: dict, count: int) -> dict:
    out = {}
    names = sorted(meta["versions"])[: count // 2]
    for i, name in enumerate(names):
        version = meta["versions"][name]
        h = hashlib.sha256(f"{i}".encode()).hexdigest()[:32]
        src = f"/nix/store/{h[:32]}-{name}-{version}.tar.gz.drv"
        out[src] = {"outputs": {"out": {"path": src[:-4], "hashAlgo": "sha256",
                                        "hash": digest(f"{name}-{version}").hex()}},
                    "inputSrcs": [], "inputDrvs": {}, "system": "x86_64-linux", "builder": "builtin:fetchurl",
                    "args": [], "env": {"name": f"{name}-{version}.tar.gz", "outputHashMode": "flat"}}
        h2 = hashlib.sha256(f"pkg{i}".encode()).hexdigest()[:32]
        drv = f"/nix/store/{h2}-{name}-{version}.drv"
        out[drv] = {"outputs": {"out": {"path": drv[:-4]}}, "inputSrcs": [], "inputDrvs": {src: ["out"]},
                    "system": "x86_64-linux", "builder": "/bin/sh", "args": [],
                    "env": {"name": f"{name}-{version}", "pname": name, "version": version}}
    return out


def run(out: Path, meta: dict, cache: Path, label: str) -> dict:
    mirror = out / "mirror"
    mirror.mkdir(exist_ok=True)
    command = [sys.executable, "-m", "commitguard", "annotate", "--closure", str(out / "closure.json"),
               "--repo", str(out / "repo"), "--keyring", str(out / "keyring"), "--trust-root", meta["root"],
               "--upstream-mirror", str(mirror), "--cache", str(cache), "--format", "json"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"{label}: exit {done.returncode}: {done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    summary = report["summary"]
    print(f"{label}: {elapsed:.2f} s  derivations {summary['total']}, by hash {summary['by_match']['hash']}, "
          f"by name {summary['by_match']['name']}, unmatched {summary['unmatched']}, trusted {summary['trusted']}; "
          f"index built {report['index']['built']}, blobs read {report['index']['blobs_read']}")
    return {"seconds": round(elapsed, 2), "summary": {k: summary[k] for k in ("total", "trusted", "unmatched", "by_match")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--packages", type=int, default=10_000)
    parser.add_argument("--generated-calls", type=int, default=110_000)
    parser.add_argument("--derivations", type=int, default=3_000)
    args = parser.parse_args()
    start = time.perf_counter()
    meta = build_repository(args.outdir, args.packages, args.generated_calls, args.derivations // 2)
    print(f"repository: {meta['packages']} packages, {meta['packages'] + meta['generated']} fetcher calls "
          f"({time.perf_counter() - start:.1f} s)")
    (args.outdir / "closure.json").write_text(json.dumps(closure_json(meta, args.derivations)))
    cache = args.outdir / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    cold = run(args.outdir, meta, cache, "cold")
    warm = run(args.outdir, meta, cache, "warm")
    # a new revision: one more commit; only the blob it changed is read for the new tree's index
    repo = args.outdir / "repo"
    extra = repo / "pkgs" / "by-name" / "zz" / "zzextra" / "package.nix"
    extra.parent.mkdir(parents=True, exist_ok=True)
    extra.write_text(package_nix("zzextra", str(time.time_ns())))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "zzextra: new version")
    next_revision = run(args.outdir, meta, cache, "next revision")
    started = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    import pygit2

    from commitguard.closure.hash_index import HashIndex

    index = HashIndex(None)
    pyrepo = pygit2.Repository(str(repo))
    index.ensure(pyrepo, str(pyrepo[pyrepo.head.target].tree_id))
    index_alone = round(time.perf_counter() - started, 2)
    print(f"hash index alone, in memory, cold: {index_alone:.2f} s ({index.newly_read} blobs)")
    (args.outdir / "results.json").write_text(json.dumps({"cold": cold, "warm": warm, "next_revision": next_revision,
                                                          "index_alone": index_alone}, indent=2))


if __name__ == "__main__":
    main()
