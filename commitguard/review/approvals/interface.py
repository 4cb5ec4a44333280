"""Where approvals live. A store hands back raw envelopes; it vouches for none.

Whatever a store returns (a git note anyone can push, a review body anyone
can write) is only text until its signature is verified against the keyring.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass


@dataclass(frozen=True)
class RawApproval:
    text: str
    origin: str  # "notes:refs/notes/commitguard", "github:review/123", for reports


class ApprovalStore(ABC):
    name: str

    @abstractmethod
    def collect(self, head: str) -> list[RawApproval]:
        """Every candidate envelope stored for ``head`` (and, for a pull
        request, those for its earlier heads, so they can be reported stale)."""

    @abstractmethod
    def store(self, head: str, envelope_json: str) -> str:
        """Keep one more approval; returns where it went. Never drops others."""
