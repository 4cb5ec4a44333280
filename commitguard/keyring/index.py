"""Lookup from what a signature names (key id, fingerprint, SSH key blob) to
the keyring entries that hold that key. Built once per keyring."""

from __future__ import annotations

from dataclasses import dataclass

from commitguard.keyring.model import Holder, KeyEntry, Keyring


@dataclass(frozen=True)
class Candidate:
    holder: Holder
    entry: KeyEntry
    key_fingerprint: str  # the (sub)key or SSH fingerprint matched


class KeyIndex:
    def __init__(self, keyring: Keyring):
        self.keyring = keyring
        self._by_fpr: dict[str, list[Candidate]] = {}
        self._by_keyid: dict[str, list[Candidate]] = {}
        self._by_blob: dict[bytes, Candidate] = {}
        self._by_identity: dict[tuple[str, str], Candidate] = {}
        for holder, entry in keyring.holders():
            if entry.sigstore is not None:
                # one holder per identity: the loader refuses an identity listed for two
                who = (entry.sigstore.identity, entry.sigstore.issuer)
                self._by_identity[who] = Candidate(holder, entry, entry.sigstore.label)
            elif entry.ssh is not None:
                self._by_blob[entry.ssh.blob] = Candidate(holder, entry, entry.ssh.fingerprint)
            elif entry.openpgp is not None:
                for fpr in entry.openpgp.key_fingerprints:
                    cand = Candidate(holder, entry, fpr)
                    self._by_fpr.setdefault(fpr, []).append(cand)
                    # v4 key ids are the low 64 bits of the fingerprint
                    self._by_keyid.setdefault(fpr[-16:], []).append(cand)

    def openpgp(self, fingerprint: str | None, key_id: str | None) -> list[Candidate]:
        if fingerprint:
            return list(self._by_fpr.get(fingerprint.upper(), ()))
        if key_id:
            return list(self._by_keyid.get(key_id.upper(), ()))
        return []

    def ssh(self, blob: bytes) -> Candidate | None:
        return self._by_blob.get(blob)

    def sigstore(self, identity: str, issuer: str) -> Candidate | None:
        """The keyring entry for exactly this Fulcio identity and OIDC issuer."""
        return self._by_identity.get((identity, issuer))
