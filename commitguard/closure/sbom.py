"""CycloneDX SBOMs of Nix closures, as sbomnix and bombon write them.

sbomnix names each component by its derivation: ``bom-ref`` and the
``nix:drv_path`` property are the ``.drv`` path, ``nix:output_path`` its
outputs; it gives no hashes. bombon names a component by its output path
without ``/nix/store/`` (``bom-ref``), puts a fixed-output derivation's
``outputHash`` in ``hashes`` and the source's hash in its ``vcs`` external
references; its ``metadata.component`` is the target itself. Both list
the edges in ``dependencies``. What the SBOM does not say is read from the
``.drv`` in the store when it is there (sbomnix's hashes); otherwise only
the SBOM's word is used, and the derivation says so in its notes.

The document is validated against its CycloneDX version's schema by
cyclonedx-python-lib before anything is read from it.
"""

from __future__ import annotations

import dataclasses

from commitguard.closure.model import MAX_DERIVATIONS, STORE_DIR, StoreDerivation
from commitguard.closure.store import LocalStore, is_store_path
from commitguard.errors import CommitguardError
from commitguard.nix.hashes import HashError, to_sri

_ALGORITHMS = {"SHA-256": "sha256", "SHA-512": "sha512", "SHA-1": "sha1", "MD5": "md5"}
SPEC_VERSIONS = ("1.2", "1.3", "1.4", "1.5", "1.6")


def validate(document: dict, source: str) -> None:
    """Raise the input error when ``document`` is not valid CycloneDX JSON of its own version."""
    import json

    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    version = document.get("specVersion")
    if version not in SPEC_VERSIONS:
        raise CommitguardError(f"specVersion {str(version)[:20]!r} is not a CycloneDX version this reads "
                               f"({', '.join(SPEC_VERSIONS)})", path=source, field="specVersion")
    schema = SchemaVersion.from_version(version)
    try:
        error = JsonStrictValidator(schema).validate_str(json.dumps(document))
    except Exception as exc:  # noqa: BLE001 - the validator's own failure is a refusal, never a crash
        raise CommitguardError(f"cannot be validated: {type(exc).__name__}", path=source, field="specVersion") from None
    if error is not None:
        detail = getattr(error, "data", None)
        where = "/".join(str(p) for p in getattr(detail, "absolute_path", ()) or ()) or "(document)"
        message = getattr(detail, "message", None) or str(error)
        raise CommitguardError(f"not valid CycloneDX {version}: {message[:200]}", path=source, field=where[:120])


def producer(document: dict) -> str:
    tools = (document.get("metadata") or {}).get("tools") or []
    if isinstance(tools, dict):
        tools = list(tools.get("components") or []) + list(tools.get("services") or [])
    names = {str(t.get("name", "")).lower() for t in tools if isinstance(t, dict)}
    for known in ("sbomnix", "bombon"):
        if known in names:
            return known
    return "cyclonedx"


def _properties(component: dict) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for prop in component.get("properties") or ():
        if isinstance(prop, dict) and isinstance(prop.get("name"), str) and isinstance(prop.get("value"), str):
            out.setdefault(prop["name"], []).append(prop["value"])
    return out


def _sri(h: dict) -> str | None:
    algo = _ALGORITHMS.get(str(h.get("alg")))
    content = h.get("content")
    if algo is None or not isinstance(content, str):
        return None
    try:
        return to_sri(content, algo)
    except HashError:
        return None


def read_sbom(document: dict, source: str, store: LocalStore) -> tuple[list[StoreDerivation], list[str]]:
    """The derivations an SBOM lists (its ``metadata.component`` first), and warnings."""
    components = document.get("components") or []
    root = (document.get("metadata") or {}).get("component")
    everything = ([root] if isinstance(root, dict) else []) + [c for c in components if isinstance(c, dict)]
    if len(everything) > MAX_DERIVATIONS:
        raise CommitguardError(f"more than {MAX_DERIVATIONS} components", path=source, field="components")
    edges: dict[str, list[str]] = {}
    for dep in document.get("dependencies") or ():
        if isinstance(dep, dict) and isinstance(dep.get("ref"), str):
            edges[dep["ref"]] = [r for r in dep.get("dependsOn") or () if isinstance(r, str)]
    read = [_component(c, store) for c in everything]
    key_of_ref = {d.ref: d.key for d in read if d.ref}
    seen: set[str] = set()
    out = []
    for drv in read:
        if drv.key in seen:
            continue  # the target listed again among the components
        seen.add(drv.key)
        if drv.ref in edges and not drv.inputs:
            drv = dataclasses.replace(drv, inputs=tuple(key_of_ref.get(r, r) for r in edges[drv.ref]))
        out.append(drv)
    missing = sum(1 for d in out if any("not in the store" in n for n in d.notes))
    warnings = [f"{missing} derivation(s) of the SBOM are not in the store: their hashes are what the SBOM says"] \
        if missing else []
    return out, warnings


def _component(component: dict, store: LocalStore) -> StoreDerivation:
    props = _properties(component)
    ref = component.get("bom-ref") if isinstance(component.get("bom-ref"), str) else None
    drv_path = (props.get("nix:drv_path") or [None])[0]
    if drv_path is None and ref and ref.endswith(".drv") and is_store_path(ref):
        drv_path = ref
    outputs = props.get("nix:output_path", []) + props.get("nix:out_path", [])
    if not outputs and ref and not ref.startswith("/") and is_store_path(f"{STORE_DIR}/{ref}"):
        outputs = [f"{STORE_DIR}/{ref}"]  # bombon: the output path without the store directory
    pname = component.get("name") if isinstance(component.get("name"), str) else ""
    version = component.get("version") if isinstance(component.get("version"), str) else ""
    name = f"{pname}-{version}" if pname and version else pname
    hashes = [s for s in (_sri(h) for h in component.get("hashes") or () if isinstance(h, dict)) if s]
    sources = []
    for reference in component.get("externalReferences") or ():
        if isinstance(reference, dict) and reference.get("type") in ("vcs", "distribution"):
            sources += [s for s in (_sri(h) for h in reference.get("hashes") or () if isinstance(h, dict)) if s]
    notes: list[str] = []
    from_store = None
    if drv_path is not None:
        try:
            from_store = store.read_drv(drv_path, field="nix:drv_path")
        except CommitguardError as exc:
            notes.append(f"the .drv is not in the store ({exc}): what the SBOM says is used")
    if from_store is not None:
        return dataclasses.replace(from_store, ref=ref, source_hashes=tuple(dict.fromkeys(sources)),
                                   outputs=from_store.outputs or tuple(outputs))
    return StoreDerivation(
        drv=drv_path if drv_path and is_store_path(drv_path) else None, name=name or (ref or "?"),
        pname=pname or None, version=version or None,
        output_hash=hashes[0] if hashes else None, outputs=tuple(outputs),
        source_hashes=tuple(dict.fromkeys(sources)), ref=ref, notes=tuple(notes),
    )
