"""Per-package chains of history: who vouched for each link (``annotate``), and
the newest revision whose chains are all trusted (``pin``).

The engine is shared by both commands, so they agree on every package:
:mod:`~commitguard.chain.history` (the branch's history and which commits
changed each package), :mod:`~commitguard.chain.judge` (commit verdicts and the
approval keyring), :mod:`~commitguard.chain.approvals` (signed audits and
reviews in git notes) and :mod:`~commitguard.chain.links` (a package's chain).
:mod:`~commitguard.chain.annotate` and :mod:`~commitguard.chain.pin` only
assemble their reports from those.
"""
