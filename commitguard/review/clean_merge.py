"""``clean-merge``: a merge commit that adds nothing of its own passes on its parents' trust.

A forge's merge commit is signed by the forge (or not at all), so its own
signature says little. What makes it harmless is that its tree is exactly the
conflict-free merge of its parents (:mod:`commitguard.git.merges`): then every
line in it comes from a parent, and the merge is as trustworthy as they are.
So it is vouched for when it is clean and *every* parent is vouched for
(by whatever kind), and never otherwise.

The kind therefore needs its parents decided first: ``vouch_report`` asks it
parents-first, and ``vouched`` is the set of commits decided trusted so far.
A parent outside the checked commits counts only when it is the trust root
or one of its ancestors (the consumer's chosen starting point), never because
a range happened to leave it out.
"""

from __future__ import annotations

from commitguard.model.verdicts import CommitVerdict, Vouch
from commitguard.review.landing import HistoryView, MergeChecks
from commitguard.review.vouching import Refusal, VouchKind


class CleanMergeKind(VouchKind):
    name = "clean-merge"

    def __init__(self, view: HistoryView, checks: MergeChecks, vouched: set[str]):
        self.view = view
        self.checks = checks
        self.vouched = vouched

    def may_vouch(self, commit_id: str) -> bool:
        return len(self.view.parents.get(commit_id, ())) > 1

    def vouch(self, commit: CommitVerdict) -> Vouch | Refusal:
        parents = self.view.parents.get(commit.id, ())
        if len(parents) < 2:
            return Refusal(self.name, "not a merge commit")
        check = self.checks.merge(commit.id)
        if not check.clean:
            return Refusal(self.name, check.reason)
        for parent in parents:
            if parent in self.view:
                if parent not in self.vouched:
                    return Refusal(self.name, f"parent {parent[:12]} is not vouched for")
            elif not self.view.behind_root(parent):
                return Refusal(self.name, f"parent {parent[:12]} is outside the checked commits and not behind the "
                                          "trust root")
        return Vouch(self.name, (), f"its tree is the clean merge of its {len(parents)} parents, each vouched for: "
                                    "it adds nothing of its own")
