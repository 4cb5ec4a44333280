"""``annotate --closure``: from a derivation, a closure or an SBOM to the humans who vouched for it.

Stages: a reader per input kind (:mod:`.interface` picks one) turns the target
into :class:`.model.StoreDerivation` records; :mod:`.hash_index` knows, per
revision, which files of the repository name which fixed-output hash;
:mod:`.join` matches each derivation to a package expression and says how;
:mod:`.report` assembles the per-derivation chains and the closure's summary.
"""
