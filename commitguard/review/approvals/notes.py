"""Approvals in git notes: ``refs/notes/commitguard``, one note per commit.

A note holds one envelope per line. Lines, not a JSON array, so that two
clones' notes merge with ``git notes merge -s cat_sort_uniq`` and so that one
garbage line costs one approval, not the note.
"""

from __future__ import annotations

import pygit2

from commitguard.review.approvals.interface import ApprovalStore, RawApproval

NOTES_REF = "refs/notes/commitguard"
MAX_NOTE_BYTES = 1024 * 1024


class GitNotesStore(ApprovalStore):
    name = "notes"

    def __init__(self, repo: pygit2.Repository, ref: str = NOTES_REF):
        self.repo = repo
        self.ref = ref

    def _lines(self, head: str) -> list[str]:
        try:
            note = self.repo.lookup_note(head, self.ref)
        except (KeyError, pygit2.GitError):
            return []
        try:
            blob = self.repo[note.id]
            data = blob.data if isinstance(blob, pygit2.Blob) else b""
        except (KeyError, pygit2.GitError):
            return []
        data = data[:MAX_NOTE_BYTES]
        return [line for line in data.decode("utf-8", "replace").splitlines() if line.strip()]

    def collect(self, head: str) -> list[RawApproval]:
        return [RawApproval(line, f"notes:{self.ref}") for line in self._lines(head)]

    def each_note(self):
        """(annotated commit, approvals) for every note, read in one pass over the notes: a
        lookup per commit costs libgit2 a read of the whole notes tree each time."""
        try:
            notes = list(self.repo.notes(self.ref))
        except (KeyError, pygit2.GitError):
            return
        for note in notes:
            try:
                blob = self.repo[note.id]
            except (KeyError, pygit2.GitError):
                continue
            data = blob.data[:MAX_NOTE_BYTES] if isinstance(blob, pygit2.Blob) else b""
            lines = [line for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
            yield str(note.annotated_id), [RawApproval(line, f"notes:{self.ref}") for line in lines]

    def all_annotated(self) -> list[str]:
        """Commits that carry approvals (for audits of merged history)."""
        try:
            return [str(note.annotated_id) for note in self.repo.notes(self.ref)]
        except (KeyError, pygit2.GitError):
            return []

    def store(self, head: str, envelope_json: str) -> str:
        lines = self._lines(head)
        if envelope_json not in lines:
            lines.append(envelope_json)
        signature = self.repo.default_signature if _has_identity(self.repo) else pygit2.Signature(
            "commitguard", "commitguard@localhost"
        )
        self.repo.create_note("\n".join(lines) + "\n", signature, signature, head, self.ref, True)
        return f"{self.ref} on {head}"


def _has_identity(repo: pygit2.Repository) -> bool:
    try:
        repo.default_signature
        return True
    except (KeyError, pygit2.GitError):
        return False
