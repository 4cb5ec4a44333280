"""Which kind of input a ``--closure`` target is, and the one reader for it.

* a ``.drv`` store path: its derivation closure, read from the store's files
  (a symbolic link into the store, such as ``/run/current-system`` or
  ``./result``, is the path it points to);
* another store path (an output, a system): its run-time closure, each path's
  derivation found by ``nix-store``, each derivation's direct inputs read too
  so that it can be matched through its sources;
* a file: CycloneDX JSON (``"bomFormat": "CycloneDX"``: sbomnix, bombon),
  Nix's derivation JSON (an object of ``.drv`` paths), or a list of store
  paths, one a line (``nix-store -qR``'s output; ``#`` starts a comment).
"""

from __future__ import annotations

import json
import os
from commitguard.closure.model import MAX_DERIVATIONS, MAX_INPUT_BYTES, STORE_DIR, Closure, StoreDerivation
from commitguard.closure.store import LocalStore, is_store_path, missing_derivation, store_name
from commitguard.errors import CommitguardError
from commitguard.nix.versions import parse_drv_name


def read_closure(target: str, store: str | None = None) -> Closure:
    local = LocalStore(store)
    if not is_store_path(target) and os.path.islink(target):
        resolved = os.path.realpath(target)  # /run/current-system, nix-build's ./result, $(which hello)
        if resolved.startswith(STORE_DIR + "/"):
            target = resolved
    if target.startswith(STORE_DIR + "/") and not is_store_path(target):
        top = STORE_DIR + "/" + target[len(STORE_DIR) + 1:].split("/", 1)[0]
        if is_store_path(top) and not top.endswith(".drv"):
            target = top  # a file inside an output: that output
    if is_store_path(target):
        if target.endswith(".drv"):
            derivations = local.drv_closure([target])
            sources = {s for d in derivations for s in d.input_sources}
            warnings = [f"{len(sources)} file(s) the derivations were given (inputSrcs: builder scripts, local "
                        f"patches) are not derivations: not annotated"] if sources else []
            return Closure("drv", target, tuple(derivations), warnings=tuple(warnings))
        return _outputs(local, target, local.nix_store("--query", "--requisites", target, target=target), "output")
    if target.startswith("/nix/store/") and not is_store_path(target):
        raise CommitguardError("not a store path (/nix/store/HASH-NAME)", path=target, field="TARGET")
    data = _read_file(target)
    text = data.decode("utf-8", errors="strict") if _utf8(data) else None
    if text is None:
        raise CommitguardError("not UTF-8 text: neither an SBOM, derivation JSON nor a list of store paths",
                               path=target, field="TARGET")
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommitguardError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", path=target,
                                   field="TARGET") from None
        except RecursionError:
            raise CommitguardError("JSON nested too deeply", path=target, field="TARGET") from None
        if isinstance(document, dict) and "bomFormat" in document:
            return _sbom(document, target, local)
        from commitguard.closure.derivation_json import read_derivation_json

        return Closure("derivation-json", target, tuple(read_derivation_json(document, target)))
    return _paths(local, text, target)


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _read_file(target: str) -> bytes:
    try:
        with open(target, "rb") as handle:
            data = handle.read(MAX_INPUT_BYTES + 1)
    except FileNotFoundError:
        raise CommitguardError("no such file (and not a store path)", path=target, field="TARGET") from None
    except IsADirectoryError:
        raise CommitguardError("a directory, not a file or store path", path=target, field="TARGET") from None
    except OSError as exc:
        raise CommitguardError(f"cannot read: {exc.strerror}", path=target, field="TARGET") from None
    if len(data) > MAX_INPUT_BYTES:
        raise CommitguardError(f"larger than {MAX_INPUT_BYTES >> 20} MiB", path=target, field="TARGET")
    return data


def _sbom(document: dict, target: str, local: LocalStore) -> Closure:
    from commitguard.closure.sbom import producer, read_sbom, validate

    if document.get("bomFormat") != "CycloneDX":
        raise CommitguardError(f"bomFormat {str(document.get('bomFormat'))[:30]!r} is not CycloneDX", path=target,
                               field="bomFormat")
    validate(document, target)
    derivations, warnings = read_sbom(document, target, local)
    # a run-time SBOM leaves the sources out: the inputs of the derivations read from the
    # store are read too (when the store has them), to match those derivations through their sources
    listed = {d.key for d in derivations}
    context: dict[str, StoreDerivation] = {}
    for drv in derivations:
        for input_path in drv.inputs if drv.drv else ():
            if input_path not in listed and input_path not in context and len(context) < MAX_DERIVATIONS:
                context[input_path] = _listed(local, input_path)
    return Closure("sbom", target, tuple(derivations), document=document, producer=producer(document),
                   warnings=tuple(warnings), context=context)


def _paths(local: LocalStore, text: str, target: str) -> Closure:
    paths: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if not is_store_path(line):
            raise CommitguardError(f"line {number}: not a store path: {line[:80]!r}", path=target, field="TARGET")
        paths.append(line)
        if len(paths) > MAX_DERIVATIONS:
            raise CommitguardError(f"more than {MAX_DERIVATIONS} store paths", path=target, field="TARGET")
    if not paths:
        raise CommitguardError("no store path in the list", path=target, field="TARGET")
    paths = list(dict.fromkeys(paths))
    drvs = [p for p in paths if p.endswith(".drv")]
    listed = [_listed(local, p) for p in drvs]
    given = {s for d in listed for s in d.input_sources}
    others = [p for p in paths if not p.endswith(".drv") and p not in given]
    warnings = _context_warnings(listed)
    skipped = sum(1 for p in paths if p in given)
    if skipped:
        # nix-store -qR of a .drv lists the files its derivations were given (builder
        # scripts, local patches): files of the repository, not derivations
        warnings.append(f"{skipped} listed path(s) are files the listed derivations were given (inputSrcs), "
                        f"not derivations: not annotated")
    if not others:
        return Closure("store-paths", target, tuple(listed), warnings=tuple(warnings))
    closure = _outputs(local, target, others, "store-paths")
    keys = {d.key for d in listed}
    derived = tuple(d for d in closure.derivations if d.key not in keys)  # an output of a listed .drv: listed once
    context = {k: v for k, v in closure.context.items() if k not in keys}
    return Closure("store-paths", target, tuple(listed) + derived, warnings=tuple(warnings), context=context)


def _listed(local: LocalStore, path: str) -> StoreDerivation:
    try:
        return local.read_drv(path, field="TARGET")
    except CommitguardError as exc:
        return missing_derivation(path, str(exc))


def _context_warnings(read: list[StoreDerivation]) -> list[str]:
    """How many listed .drv files could not be read (they are listed, unmatched)."""
    missing = sum(1 for d in read if d.notes and d.output_hash is None and not d.outputs)
    return [f"{missing} listed .drv file(s) are not in the store"] if missing else []


def _outputs(local: LocalStore, target: str, outputs: list[str], kind: str) -> Closure:
    """Output paths: each one's derivation (once per derivation), and what it could not be told from."""
    derivers = local.derivers(outputs, target)
    by_drv: dict[str, list[str]] = {}
    unknown: list[StoreDerivation] = []
    for path in outputs:
        drv = derivers.get(path)
        if drv is None:
            name = store_name(path)
            pname, version = parse_drv_name(name)
            unknown.append(StoreDerivation(drv=None, name=name, pname=pname or None, version=version or None,
                                           outputs=(path,), notes=("the store knows no derivation that built this "
                                                                   "path (substituted without one, or added as a file)",)))
        else:
            by_drv.setdefault(drv, []).append(path)
    if len(by_drv) > MAX_DERIVATIONS:
        raise CommitguardError(f"a closure of more than {MAX_DERIVATIONS} derivations", path=target, field="TARGET")
    read: list[StoreDerivation] = []
    context: dict[str, StoreDerivation] = {}
    for drv_path in by_drv:
        drv = _listed(local, drv_path)
        read.append(drv)
    listed = {d.drv for d in read}
    for drv in read:
        for input_path in drv.inputs:
            if input_path not in listed and input_path not in context:
                context[input_path] = _listed(local, input_path)
    closure = Closure(kind, target, tuple(read + unknown))
    return Closure(kind, target, closure.derivations, warnings=(), context=context) if context else closure
