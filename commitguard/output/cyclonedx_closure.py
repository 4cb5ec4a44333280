"""CycloneDX for ``annotate --closure``: the given SBOM enriched, or a new one for a closure.

An SBOM made by sbomnix or bombon is what the user already has and feeds to
other tools; writing a new one would lose what those tools put there. So the
document comes back as it was read, every component and field kept, with
commitguard's findings added to each component the closure matched:
``commitguard:match``, ``commitguard:package``, ``commitguard:trusted``,
``commitguard:reason`` and one ``commitguard:chain:N`` property per link (the
same spelling as ``annotate --format cyclonedx``), and, from CycloneDX 1.5
on, an identity evidence saying how the component was tied to its
expression (``hash-comparison`` for a fixed output's hash, ``filename``,
weaker, for a name). Without an SBOM as target, a new document lists the
derivations the same way. Either is validated against its version's schema
by cyclonedx-python-lib before it is written.
"""

from __future__ import annotations

import copy
import json

from commitguard import __version__
from commitguard.errors import CommitguardError
from commitguard.output.cyclonedx import chain_property
from commitguard.output.interface import vouched_by


def enriched(report, version: str = "1.6") -> str:
    closure = report.closure
    document = copy.deepcopy(closure.document) if closure.document is not None else _new(report, version)
    spec = document.get("specVersion", version)
    components: dict[str, list] = {}
    for component in _components(document):
        ref = component.get("bom-ref")
        if isinstance(ref, str):
            components.setdefault(ref, []).append(component)  # the target may be listed twice (sbomnix)
    for result in report.results:
        key = result.derivation.ref if closure.document is not None else result.derivation.key
        for component in components.get(key, ()):
            _enrich(component, result, spec)
    metadata = document.setdefault("metadata", {})
    _add_tool(metadata)
    summary = report.summary()
    properties = metadata.setdefault("properties", [])
    properties += [
        {"name": "commitguard:rev", "value": report.rev},
        {"name": "commitguard:ok", "value": str(report.ok).lower()},
        {"name": "commitguard:derivations", "value": str(summary["total"])},
        {"name": "commitguard:trusted", "value": str(summary["trusted"])},
        {"name": "commitguard:unmatched", "value": str(summary["unmatched"])},
    ]
    if report.trust_root:
        properties.append({"name": "commitguard:trust_root", "value": report.trust_root})
    text = json.dumps(document, indent=2, ensure_ascii=False)
    _validate(text, spec, closure.source)
    return text + "\n"


def _components(document: dict):
    root = (document.get("metadata") or {}).get("component")
    stack = ([root] if isinstance(root, dict) else []) + list(document.get("components") or [])
    while stack:
        component = stack.pop(0)
        if isinstance(component, dict):
            yield component
            stack.extend(component.get("components") or [])


def _enrich(component: dict, result, spec: str) -> None:
    match = result.match
    properties = [p for p in component.get("properties") or [] if not str(p.get("name", "")).startswith("commitguard:")]
    properties += [
        {"name": "commitguard:match", "value": match.kind or "none"},
        {"name": "commitguard:trusted", "value": str(result.trusted).lower()},
    ]
    if match.kind:
        properties.append({"name": "commitguard:package", "value": match.package})
    properties.append({"name": "commitguard:match_detail", "value": match.detail})
    if result.reason:
        properties.append({"name": "commitguard:reason", "value": result.reason})
    if result.package is not None:
        properties.append({"name": "commitguard:upstream", "value": result.package.sources.upstream.status})
        for number, link in enumerate(result.package.links):
            properties.append({"name": f"commitguard:chain:{number}", "value": chain_property(link)})
            how = vouched_by(link.vouch)
            if how:
                properties.append({"name": f"commitguard:chain:{number}:vouched_by", "value": how})
    component["properties"] = properties
    if match.kind and spec in ("1.5", "1.6"):
        method = {"technique": "hash-comparison" if match.kind == "hash" else "filename",
                  "confidence": 1.0 if match.kind == "hash" else 0.5, "value": match.detail}
        identity = {"field": "hash" if match.kind == "hash" else "name",
                    "confidence": method["confidence"], "methods": [method]}
        evidence = component.setdefault("evidence", {})
        existing = evidence.get("identity")
        if existing is None:
            evidence["identity"] = [identity] if spec == "1.6" else identity
        elif isinstance(existing, list):
            existing.append(identity)
        # 1.5 allows one identity object: one already there (bombon's CPE evidence) is kept, the properties say it


def _add_tool(metadata: dict) -> None:
    tools = metadata.get("tools")
    if isinstance(tools, list):
        tools.append({"vendor": "commitguard", "name": "commitguard", "version": __version__})
    elif isinstance(tools, dict):
        tools.setdefault("components", []).append({"type": "application", "name": "commitguard",
                                                   "version": __version__})
    else:
        metadata["tools"] = {"components": [{"type": "application", "name": "commitguard", "version": __version__}]}


def _new(report, version: str) -> dict:
    components = []
    for result in report.results:
        d = result.derivation
        component = {"type": "library", "bom-ref": d.key, "name": d.pname or d.name}
        if d.version:
            component["version"] = d.version
        props = [{"name": "nix:drv_path", "value": d.drv}] if d.drv else []
        props += [{"name": "nix:output_path", "value": o} for o in d.outputs]
        if props:
            component["properties"] = props
        components.append(component)
    return {"bomFormat": "CycloneDX", "specVersion": version, "version": 1, "metadata": {}, "components": components}


def _validate(text: str, spec: str, source: str) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.from_version(spec)).validate_str(text)
    if error is not None:
        raise CommitguardError(f"the enriched SBOM does not validate as CycloneDX {spec}: {str(error)[:200]}",
                               path=source, field="components")
