"""The local Nix store: ``.drv`` files read directly, output paths through ``nix-store``.

A derivation's closure is its ``.drv`` and, recursively, the ``.drv`` files it
names as inputs: reading the files (:mod:`.aterm`) needs no process per
derivation. Which derivation built an output path, and what an output needs
at run time, only the store's database knows; that is asked of ``nix-store``
once per target (``--query --requisites``, ``--query --deriver``), not per path.

``store`` is what Nix's ``--store`` takes: unset (the system's store), a
directory (a store kept under that root, paths still ``/nix/store/...``) or
``local?root=DIR``; it is passed on to ``nix-store`` as given.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import deque
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from commitguard.closure.aterm import ATermError, parse_drv
from commitguard.closure.model import MAX_DERIVATIONS, MAX_DRV_BYTES, STORE_DIR, StoreDerivation
from commitguard.errors import CommitguardError
from commitguard.nix.versions import parse_drv_name

NIX_STORE_TIMEOUT = 300  # seconds: a system closure's requisites take a second or two


def store_name(path: str) -> str:
    """``/nix/store/<hash>-hello-2.12.drv`` -> ``hello-2.12`` (without ``.drv``)."""
    base = path.rsplit("/", 1)[-1]
    name = base[33:] if len(base) > 33 and base[32] == "-" else base
    return name[:-4] if name.endswith(".drv") else name


def is_store_path(path: str) -> bool:
    if not path.startswith(STORE_DIR + "/"):
        return False
    base = path[len(STORE_DIR) + 1:]
    return "/" not in base and len(base) > 33 and base[32] == "-" and base not in (".", "..")


class LocalStore:
    def __init__(self, store: str | None = None):
        self.store = store
        self.root = _root_of(store)

    def physical(self, path: str) -> Path:
        return Path(self.root + path) if self.root else Path(path)

    def read_drv(self, path: str, *, field: str = "TARGET") -> StoreDerivation:
        """The derivation at ``path``; a missing or malformed file is an input error naming it."""
        if not is_store_path(path) or not path.endswith(".drv"):
            raise CommitguardError(f"not a .drv store path under {STORE_DIR}", path=path, field=field)
        file = self.physical(path)
        try:
            with open(file, "rb") as handle:
                data = handle.read(MAX_DRV_BYTES + 1)
        except FileNotFoundError:
            raise CommitguardError("no such derivation in the store" + self._which(), path=path, field=field) from None
        except OSError as exc:
            raise CommitguardError(f"cannot read: {exc.strerror}", path=path, field=field) from None
        if len(data) > MAX_DRV_BYTES:
            raise CommitguardError(f"a .drv file larger than {MAX_DRV_BYTES >> 20} MiB", path=path, field=field)
        try:
            return parse_drv(data.decode("utf-8"), path)
        except (ATermError, UnicodeDecodeError) as exc:
            raise CommitguardError(f"not a derivation (ATerm): {exc}", path=path, field=field) from None

    def _which(self) -> str:
        return f" {self.store}" if self.store else ""

    def drv_closure(self, starts: list[str]) -> list[StoreDerivation]:
        """Every derivation ``starts`` depend on, themselves first, breadth first.

        An input whose ``.drv`` is not in the store (garbage-collected) is
        listed by its path and name with a note, never dropped: it is part of
        the closure, and nothing can be said about it.
        """
        seen: dict[str, StoreDerivation] = {}
        queue = deque(starts)
        first = set(starts)
        while queue:
            path = queue.popleft()
            if path in seen:
                continue
            if len(seen) >= MAX_DERIVATIONS:
                raise CommitguardError(f"a closure of more than {MAX_DERIVATIONS} derivations", path=starts[0],
                                       field="TARGET")
            if path in first:
                drv = self.read_drv(path)
            else:
                try:
                    drv = self.read_drv(path, field="inputDrvs")
                except CommitguardError as exc:
                    drv = missing_derivation(path, str(exc))
            seen[path] = drv
            queue.extend(i for i in drv.inputs if i not in seen)
        return list(seen.values())

    def nix_store(self, *args: str, target: str) -> list[str]:
        """``nix-store [--store S] ARGS``'s lines; any failure is an input error naming ``target``."""
        if shutil.which("nix-store") is None:
            raise CommitguardError("nix-store is not installed: an output path needs the store's database to find "
                                   "its derivation (give the .drv, or nix show-derivation -r's JSON)",
                                   path=target, field="TARGET")
        command = ["nix-store", *(["--store", self.store] if self.store else []), *args]
        env = {k: v for k, v in os.environ.items() if k != "NIX_PATH"}
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=NIX_STORE_TIMEOUT, env=env)
        except subprocess.TimeoutExpired:
            raise CommitguardError(f"nix-store took more than {NIX_STORE_TIMEOUT} s", path=target,
                                   field="TARGET") from None
        except OSError as exc:
            raise CommitguardError(f"nix-store could not run: {exc.strerror}", path=target, field="TARGET") from None
        if done.returncode != 0:
            lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
            detail = next((line for line in lines if line.startswith("error:")), lines[-1] if lines else "")
            raise CommitguardError(f"nix-store {' '.join(args[:2])}: {detail or f'exit {done.returncode}'}",
                                   path=target, field="TARGET")
        return [line.strip() for line in done.stdout.splitlines() if line.strip()]

    def derivers(self, outputs: list[str], target: str) -> dict[str, str | None]:
        """Each output path's deriver (None when the store does not know it: substituted without one)."""
        out: dict[str, str | None] = {}
        for start in range(0, len(outputs), 500):
            batch = outputs[start:start + 500]
            lines = self.nix_store("--query", "--deriver", *batch, target=target)
            if len(lines) != len(batch):
                raise CommitguardError("nix-store --query --deriver gave an answer per path that does not line up",
                                       path=target, field="TARGET")
            for path, deriver in zip(batch, lines):
                out[path] = deriver if is_store_path(deriver) else None
        return out


def missing_derivation(path: str, reason: str) -> StoreDerivation:
    name = store_name(path)
    pname, version = parse_drv_name(name)
    return StoreDerivation(drv=path, name=name, pname=pname or None, version=version or None, notes=(reason,))


def _root_of(store: str | None) -> str:
    """The directory a store is kept under ("" for the system's store)."""
    if not store or store in ("auto", "local"):
        return ""
    if store.startswith("/"):
        return store.rstrip("/")
    parts = urlsplit(store)
    if parts.scheme == "local" or store.startswith("local?"):
        root = parse_qs(parts.query).get("root", [""])[0]
        return root.rstrip("/")
    raise CommitguardError("only a local store can be read (a directory, or local?root=DIR)", path=store,
                           field="--store")
