"""Create an approval: state what was reviewed, sign it, store it."""

from __future__ import annotations

import pygit2

from commitguard.review.approvals.signers import sign_openpgp, sign_ssh
from commitguard.review.approvals.statement import Approval, Envelope, now_utc
from commitguard.errors import CommitguardError
from commitguard.git.revisions import resolve_commit


def build_approval(
    repo: pygit2.Repository, repository: str, head: str, base: str | None = None, pull_request: int | None = None
) -> Approval:
    """Base defaults to the head's first parent: approving a merged commit
    after the fact (an audit) reviews exactly what that commit changed."""
    head_id = resolve_commit(repo, head, "head")
    if base is None:
        parents = repo[head_id].parent_ids
        if not parents:
            raise CommitguardError("the head has no parent; name the base with --base", field="--base")
        base_id = parents[0]
    else:
        base_id = resolve_commit(repo, base, "base")
    return Approval(
        repository=repository,
        base=str(base_id),
        head=str(head_id),
        head_tree=str(repo[head_id].tree_id),
        pull_request=pull_request,
        timestamp=now_utc(),
    )


def sign_approval(approval: Approval, *, ssh_key: str | None = None, openpgp_key: str | None = None,
                  gnupg_home: str | None = None) -> Envelope:
    if (ssh_key is None) == (openpgp_key is None):
        raise CommitguardError("name exactly one key: --ssh-key PATH or --openpgp-key FPR", field="--ssh-key")
    payload = approval.payload()
    if ssh_key is not None:
        return Envelope(payload=payload, signature=sign_ssh(payload, ssh_key), keyid="ssh")
    assert openpgp_key is not None
    return Envelope(payload=payload, signature=sign_openpgp(payload, openpgp_key, gnupg_home), keyid=openpgp_key.upper())
