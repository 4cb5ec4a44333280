"""``sources --eval``: ask Nix itself what a package's ``src`` is, and compare.

The static reader is fast and needs no Nix, but it is a reading, not an
evaluation. Where ``nix-instantiate`` is installed, this evaluates the
attribute's ``src`` (urls, rev, outputHash) in the repository's own package
set and reports every disagreement with the static reading, including values
Nix knows that the static reading left unresolved. Nix is run with no
``NIX_PATH`` and no user configuration, so only the repository is evaluated.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from commitguard.nix.hashes import HashError, to_sri
from commitguard.model.sources import FetcherCall

EVAL_TIMEOUT = 120  # seconds per attribute: a nixpkgs evaluation of one package takes a few


@dataclass(frozen=True)
class NixSrc:
    urls: tuple[str, ...]
    rev: str | None
    hash: str | None
    error: str | None = None


def nix_available() -> bool:
    return shutil.which("nix-instantiate") is not None


def _nix_string(value: str) -> str:
    return json.dumps(value).replace("${", "\\${")


def evaluate_src(root: Path, attribute: str, system: str) -> NixSrc:
    expr = f"""
let
  pkgs = import {_nix_string(str(root.resolve()))} {{ system = {_nix_string(system)}; config = {{}}; overlays = []; }};
  src = pkgs.{_attr(attribute)}.src;
in {{
  urls = src.urls or (if src ? url then [ src.url ] else [ ]);
  rev = src.rev or null;
  outputHash = src.outputHash or null;
  outputHashAlgo = src.outputHashAlgo or null;
}}"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NIX_")}
    env["NIX_PATH"] = ""
    env["HOME"] = env.get("HOME", "/nonexistent")
    try:
        done = subprocess.run(
            ["nix-instantiate", "--eval", "--strict", "--json", "--readonly-mode", "--expr", expr],
            capture_output=True, text=True, timeout=EVAL_TIMEOUT, env=env, cwd=root,
        )
    except subprocess.TimeoutExpired:
        return NixSrc((), None, None, f"nix-instantiate took more than {EVAL_TIMEOUT} s")
    except OSError as exc:
        return NixSrc((), None, None, f"nix-instantiate could not run: {exc}")
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.strip().splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("error:")]
        detail = errors[-1] if errors else (lines[-1] if lines else f"exit {done.returncode}")
        return NixSrc((), None, None, detail)
    try:
        data = json.loads(done.stdout)
        urls = tuple(u for u in data.get("urls") or () if isinstance(u, str))
        digest = data.get("outputHash")
        algo = data.get("outputHashAlgo")
        sri = None
        if isinstance(digest, str) and digest:
            try:
                sri = to_sri(digest, algo if isinstance(algo, str) and algo else None)
            except HashError:
                sri = digest
        rev = data.get("rev")
        return NixSrc(urls, rev if isinstance(rev, str) else None, sri)
    except (ValueError, AttributeError) as exc:
        return NixSrc((), None, None, f"unexpected answer from nix-instantiate ({exc})")


def _attr(attribute: str) -> str:
    parts = attribute.split(".")
    return ".".join(p if p.replace("-", "").replace("_", "").isalnum() else json.dumps(p) for p in parts)


def compare(static: FetcherCall | None, nix: NixSrc) -> list[str]:
    """Human lines for every disagreement; empty when Nix and the reading agree."""
    if nix.error:
        return [f"--eval: Nix could not evaluate src: {nix.error}"]
    if static is None:
        return ["--eval: Nix evaluates a src, the static reading found no fetcher"] if nix.urls or nix.hash else []
    notes = []
    if nix.hash and static.hash != nix.hash:
        if static.hash is None:
            notes.append(f"--eval: Nix gives hash {nix.hash}; the static reading could not resolve it")
        else:
            notes.append(f"--eval: Nix gives hash {nix.hash}, the static reading {static.hash}")
    static_urls = list(static.urls) or ([static.url] if static.url else [])
    if static.fetcher in ("fetchurl", "fetchzip") and nix.urls and static_urls and nix.urls[0] != static_urls[0]:
        notes.append(f"--eval: Nix gives url {nix.urls[0]}, the static reading {static_urls[0]}")
    if static.fetcher in ("fetchurl", "fetchzip") and nix.urls and not static_urls:
        notes.append(f"--eval: Nix gives url {nix.urls[0]}; the static reading could not resolve it")
    want_rev = static.rev or (f"refs/tags/{static.tag}" if static.tag else None)
    if nix.rev and want_rev and nix.rev not in (want_rev, static.tag):
        notes.append(f"--eval: Nix gives rev {nix.rev}, the static reading {want_rev}")
    return notes
