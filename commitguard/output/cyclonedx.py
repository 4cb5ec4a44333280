"""CycloneDX (1.6, or 1.5): the annotate chains as an SBOM other tools can read.

One component per package expression: its purl (``pkg:nix/NAME@VERSION``),
where its source comes from (an external reference of type ``distribution``
for release files, ``vcs`` for repositories) and, where the expression pins
the file's own bytes, that hash. A NAR hash (``fetchFromGitHub``,
``fetchzip``...) is the hash of an unpacked tree, not of any file one can
download, so it is kept as a property rather than claimed as a file hash.
The chain of signers goes into ``commitguard:chain:N`` properties, one per
link, so a consumer sees who vouched for the component without knowing
commitguard's JSON.

The document is built with ``cyclonedx-python-lib``, which also writes the
schema-valid JSON for the chosen version.
"""

from __future__ import annotations

import base64
import binascii

from cyclonedx.model import (
    ExternalReference,
    ExternalReferenceType,
    HashAlgorithm,
    HashType,
    Property,
    XsUri,
)
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.output.json import JsonV1Dot5, JsonV1Dot6
from packageurl import PackageURL

from commitguard import __version__
from commitguard.output.interface import Formatter, vouched_by

# Fetchers whose hash is the hash of the downloaded file itself.
FLAT_HASH_FETCHERS = frozenset({"fetchurl", "fetchPypi", "fetchpypi"})
_ALGORITHMS = {"sha256": HashAlgorithm.SHA_256, "sha512": HashAlgorithm.SHA_512, "sha1": HashAlgorithm.SHA_1,
               "md5": HashAlgorithm.MD5}
_OUTPUTS = {"1.6": JsonV1Dot6, "1.5": JsonV1Dot5}


def sri_to_hash(sri: str | None) -> HashType | None:
    """``sha256-<base64>`` as a CycloneDX hash (hex), or None if it is not one."""
    if not sri or "-" not in sri:
        return None
    algorithm, _, encoded = sri.partition("-")
    alg = _ALGORITHMS.get(algorithm)
    if alg is None:
        return None
    try:
        digest = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None
    return HashType(alg=alg, content=digest.hex())


def chain_property(link) -> str:
    """role/signer/commit/status, with ``-`` for what a link does not have."""
    status = link.status if link.role != "approval" else link.kind
    return "/".join([link.role, link.signer or "-", link.commit or "-", status or "-"])


class CycloneDxFormatter(Formatter):
    name = "cyclonedx"

    def __init__(self, version: str = "1.6"):
        self.version = version
        if version != "1.6":
            self.name = f"cyclonedx-{version}"

    def annotate(self, report) -> str:
        bom = Bom()
        bom.metadata.tools.components.add(Component(type=ComponentType.APPLICATION, name="commitguard",
                                                    version=__version__))
        bom.metadata.properties.add(Property(name="commitguard:rev", value=report.rev))
        if report.trust_root:
            bom.metadata.properties.add(Property(name="commitguard:trust_root", value=report.trust_root))
        bom.metadata.properties.add(Property(name="commitguard:ok", value=str(report.ok).lower()))
        for package_chain in report.packages:
            bom.components.add(self._component(package_chain))
        return _OUTPUTS[self.version](bom).output_as_string(indent=2) + "\n"

    def annotate_closure(self, report) -> str:
        from commitguard.output.cyclonedx_closure import enriched

        return enriched(report, self.version)

    @staticmethod
    def _component(package_chain) -> Component:
        package = package_chain.sources.package
        name = package.name or package_chain.prefix.rsplit("/", 1)[-1]
        purl = PackageURL(type="nix", name=name, version=package.version or None)
        references = []
        hashes = []
        properties = [
            Property(name="commitguard:path", value=package.path),
            Property(name="commitguard:trusted", value=str(package_chain.trusted).lower()),
            Property(name="commitguard:upstream", value=package_chain.sources.upstream.status),
        ]
        for number, source in enumerate(package.sources):
            if not source.url:
                continue
            flat = source.fetcher in FLAT_HASH_FETCHERS
            digest = sri_to_hash(source.hash) if flat else None
            kind = ExternalReferenceType.DISTRIBUTION if flat or source.fetcher == "fetchzip" else ExternalReferenceType.VCS
            comment = source.fetcher + (f" {source.tag or source.rev}" if (source.tag or source.rev) else "")
            try:
                uri = XsUri(source.url)
            except Exception:  # noqa: BLE001 - a URL the library refuses is left out, never a crash
                continue
            references.append(ExternalReference(type=kind, url=uri, comment=comment,
                                                hashes=[digest] if digest else []))
            if digest is not None and number == 0:
                hashes.append(digest)
            if source.hash and not flat:
                properties.append(Property(name=f"commitguard:source:{number}:nar_hash", value=source.hash))
        for number, link in enumerate(package_chain.links):
            properties.append(Property(name=f"commitguard:chain:{number}", value=chain_property(link)))
            how = vouched_by(link.vouch)
            if how:  # trusted through something other than its own signature: say what
                properties.append(Property(name=f"commitguard:chain:{number}:vouched_by", value=how))
        return Component(
            type=ComponentType.LIBRARY,
            name=name,
            version=package.version,
            bom_ref=package.path,
            purl=purl,
            hashes=hashes,
            external_references=references,
            properties=properties,
        )

