"""What every closure reader produces: derivations, described the same way whatever the input.

A ``.drv`` file, Nix's derivation JSON, a list of store paths and an SBOM
from sbomnix or bombon say different amounts about a derivation. Each reader
fills in what its input says and leaves the rest empty; the join only ever
uses what is there, so a field a reader could not know is never invented.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Bounds on hostile or mistaken input (also in SECURITY.md).
MAX_INPUT_BYTES = 256 << 20      # an SBOM, a derivation JSON or a store-path list
MAX_DRV_BYTES = 16 << 20         # one .drv file
MAX_DERIVATIONS = 100_000        # derivations in one closure (a NixOS system has 1,000-3,000)

STORE_DIR = "/nix/store"


@dataclass(frozen=True)
class StoreDerivation:
    """One derivation of a closure.

    ``drv`` is its ``.drv`` store path when known (bombon's SBOM names
    only output paths); ``name`` the derivation's ``name`` (``hello-2.12``);
    ``output_hash`` the SRI of a fixed-output derivation's ``outputHash``
    (whatever spelling and mode Nix recorded), else None; ``inputs`` the
    ``.drv`` paths it depends on directly; ``source_hashes`` SRI hashes an
    SBOM gives for the component's sources (bombon's ``externalReferences``);
    ``ref`` the SBOM component this came from (its ``bom-ref``), for
    enrichment; ``notes`` what the reader could not read about it.
    """

    drv: str | None
    name: str
    pname: str | None = None
    version: str | None = None
    output_hash: str | None = None
    output_hash_mode: str | None = None
    outputs: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    input_sources: tuple[str, ...] = ()  # store paths of files it was given (builder scripts, local patches)
    source_hashes: tuple[str, ...] = ()
    ref: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """What identifies it in the closure: the .drv path, else the SBOM reference, else the first output."""
        return self.drv or self.ref or (self.outputs[0] if self.outputs else self.name)

    @property
    def fixed_output(self) -> bool:
        return self.output_hash is not None


@dataclass(frozen=True)
class Closure:
    """The derivations of a target, in the order read (the target first where it is one).

    ``kind`` is the input kind (``drv``, ``output``, ``derivation-json``,
    ``store-paths``, ``sbom``); ``document`` the parsed SBOM when the input was
    one (enrichment writes it back with its components kept); ``producer``
    which tool made the SBOM (``sbomnix``, ``bombon``, or ``cyclonedx``);
    ``context`` the direct inputs of the listed derivations that are not
    listed themselves (a run-time closure leaves the sources out), read so
    that a derivation can still be matched through its sources.
    """

    kind: str
    source: str
    derivations: tuple[StoreDerivation, ...]
    document: dict | None = None
    producer: str | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)
    context: dict = field(default_factory=dict)  # .drv path -> inputs read only to match through sources

    def by_key(self) -> dict[str, StoreDerivation]:
        return {d.key: d for d in self.derivations}
