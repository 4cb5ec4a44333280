"""The one thing every signature scheme does: judge a signed git object.

A scheme is built for one keyring and answers for one (signature, payload)
pair. It never decides what "trusted" means for the caller beyond its own
statuses: forge policy and the per-commit summary live in :mod:`commitguard.verify.commits`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime

from commitguard.model.verdicts import SignatureType, SignatureVerdict


class SignatureScheme(ABC):
    type: SignatureType

    @abstractmethod
    def recognizes(self, signature: bytes) -> bool:
        """True when the armor says this scheme should judge the signature."""

    @abstractmethod
    def verify(self, signature: bytes, payload: bytes, committed_at: datetime) -> SignatureVerdict:
        """Judge ``signature`` over ``payload``; never raises on hostile input.

        ``committed_at`` is the committer time, against which SSH key validity
        windows are judged as git does (SSH signatures carry no time).
        """
