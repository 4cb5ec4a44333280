"""Nix's derivation JSON (``nix show-derivation -r``, ``nix derivation show -r``) given as a file.

Formats of Nix 2.4 to today are read: outputs' ``hashAlgo`` as ``r:sha256``
(older) or ``sha256`` beside ``method`` (``nar``/``flat``, newer); inputs as a
list of output names or as ``{"outputs": [...]}``; store paths with or
without the ``/nix/store/`` prefix (the newest format leaves it out).
"""

from __future__ import annotations

from commitguard.closure.aterm import derivation_from
from commitguard.closure.model import MAX_DERIVATIONS, STORE_DIR, StoreDerivation
from commitguard.errors import CommitguardError


def _full(path: str) -> str:
    return path if path.startswith("/") else f"{STORE_DIR}/{path}"


def read_derivation_json(data, source: str) -> list[StoreDerivation]:
    """The derivations of the JSON object ``data`` (drv path -> derivation)."""
    if isinstance(data, dict) and isinstance(data.get("derivations"), dict):
        data = data["derivations"]  # the newest format wraps them, with a version beside
    if not isinstance(data, dict) or not data:
        raise CommitguardError("not Nix's derivation JSON (an object of .drv paths)", path=source, field="TARGET")
    if len(data) > MAX_DERIVATIONS:
        raise CommitguardError(f"more than {MAX_DERIVATIONS} derivations", path=source, field="TARGET")
    out = []
    for key, drv in data.items():
        where = f"{key}"
        if not isinstance(key, str) or not key.endswith(".drv") or not isinstance(drv, dict):
            raise CommitguardError("not a derivation: keys are .drv paths, values objects", path=source,
                                   field=where[:120])
        env = drv.get("env") or {}
        outputs_given = drv.get("outputs") or {}
        inputs_given = drv.get("inputDrvs") or {}
        if not isinstance(env, dict) or not isinstance(outputs_given, dict) or not isinstance(inputs_given, dict):
            raise CommitguardError("env, outputs and inputDrvs must be objects", path=source, field=where[:120])
        env = {str(k): v for k, v in env.items() if isinstance(v, str)}
        if "name" not in env and isinstance(drv.get("name"), str):
            env["name"] = drv["name"]
        outputs = []
        for name, spec in outputs_given.items():
            if not isinstance(spec, dict):
                raise CommitguardError("an output must be an object", path=source, field=f"{where[:100]}.outputs.{name}")
            algo = spec.get("hashAlgo") or ""
            digest = spec.get("hash") or ""
            if not isinstance(algo, str) or not isinstance(digest, str):
                raise CommitguardError("hashAlgo and hash must be strings", path=source,
                                       field=f"{where[:100]}.outputs.{name}")
            if algo and not algo.startswith(("r:", "text:")) and spec.get("method") in ("nar", "recursive"):
                algo = "r:" + algo
            path = spec.get("path")
            outputs.append((name, _full(path) if isinstance(path, str) else "", algo, digest))
        sources = drv.get("inputSrcs") or []
        sources = [_full(p) for p in sources if isinstance(p, str)] if isinstance(sources, list) else []
        out.append(derivation_from(_full(key), env, outputs, [_full(str(i)) for i in inputs_given], sources))
    return out
