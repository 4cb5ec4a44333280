"""Review: signed approvals bound to an exact head, path rules, authorship, and
the pre-merge check that puts them together."""
