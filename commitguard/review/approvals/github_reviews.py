"""Approvals in GitHub pull-request reviews: one envelope per marked block.

A review body is free text anyone with access can write, so it is read as a
list of candidates, never as a verdict: each ``<!-- commitguard-approval``
... ``-->`` block is handed to the verifier on its own. A forged block next to
a real one then costs only itself, and a review holding several approvals
(a copy of someone else's next to one's own) loses none of them.

The HTML comment keeps the envelope out of the rendered review; the line
above it tells a person what the review is and how to check it.
"""

from __future__ import annotations

import re

from commitguard.review.approvals.interface import ApprovalStore, RawApproval
from commitguard.review.approvals.statement import EnvelopeError, parse_envelope, parse_statement
from commitguard.errors import CommitguardError
from commitguard.forge import api_url, github_errors

MARKER_OPEN = "<!-- commitguard-approval"
MARKER_CLOSE = "-->"
_BLOCK = re.compile(r"<!--\s*commitguard-approval\b(.*?)-->", re.DOTALL)
# A pull request with more reviews than this, or a review with more blocks,
# is someone trying to make the check slow, not a review process.
MAX_REVIEWS = 3000
MAX_BLOCKS_PER_REVIEW = 20
MAX_BODY_CHARS = 262_144


def approval_blocks(body: str | None) -> list[str]:
    """The envelopes a review body carries, in order, stripped of the markers."""
    if not isinstance(body, str):
        return []
    found = [m.group(1).strip() for m in _BLOCK.finditer(body[:MAX_BODY_CHARS])]
    return [text for text in found if text][:MAX_BLOCKS_PER_REVIEW]


def review_body(envelope_json: str, check_command: str | None = None) -> str:
    """What a person sees first, then the envelope the verifier reads."""
    if MARKER_CLOSE in envelope_json:
        raise ValueError("an envelope never contains '-->'")
    lines = []
    try:
        approval = parse_statement(parse_envelope(envelope_json).payload)
    except EnvelopeError:
        approval = None
    if approval is not None:
        lines.append(f"Signed approval of `{approval.head}` by commitguard.")
        lines.append("")
        lines.append(f"It approves exactly this head (tree `{approval.head_tree}`) against base `{approval.base}` "
                     f"in `{approval.repository}`; any later push makes it stale.")
    else:
        lines.append("Signed approval by commitguard.")
    if check_command:
        lines.append("")
        lines.append(f"Check it with `{check_command}`.")
    lines += ["", MARKER_OPEN, envelope_json, MARKER_CLOSE, ""]
    return "\n".join(lines)


class GitHubReviewStore(ApprovalStore):
    """The reviews of one pull request, read once per run."""

    name = "github"

    def __init__(self, repository, slug: str, number: int):
        """``repository`` is a PyGithub Repository for ``slug`` (OWNER/REPO);
        lazy is best: no call is made until reviews are read or one is posted."""
        self.repository = repository
        self.slug = slug
        self.number = number
        self._pull = None
        self._collected: list[RawApproval] | None = None

    @property
    def pull(self):
        if self._pull is None:
            self._pull = self.repository.get_pull(self.number)
        return self._pull

    def collect(self, head: str) -> list[RawApproval]:
        """Every block of every review, whichever commit the review was made
        on: approvals of earlier heads are reported stale, not hidden."""
        if self._collected is None:
            self._collected = self._read_reviews()
        return list(self._collected)

    def _read_reviews(self) -> list[RawApproval]:
        out: list[RawApproval] = []
        what = f"reading the reviews of pull request #{self.number}"
        try:
            with github_errors(what):
                self._gather(out)
        except (TypeError, AttributeError, KeyError):
            raise CommitguardError(f"{what}: GitHub's answer is not a list of reviews", path=api_url()) from None
        return out

    def _gather(self, out: list[RawApproval]) -> None:
        for count, review in enumerate(self.pull.get_reviews()):
            if count >= MAX_REVIEWS:
                break
            blocks = approval_blocks(review.body)
            if not blocks:
                continue
            user = review.user
            login = user.login if user is not None else None
            where = f"github:review/{review.id}"
            by = f" (@{login})" if isinstance(login, str) else ""
            for index, text in enumerate(blocks, start=1):
                block = f" block {index}" if len(blocks) > 1 else ""
                out.append(RawApproval(text, f"{where}{block}{by}"))

    def store(self, head: str, envelope_json: str) -> str:
        """Post an APPROVE review on ``head``. GitHub refuses that event on
        one's own pull request; the signed approval is then posted as a plain
        review comment, which carries it just as well (whether it counts for
        the author is the rule's business, not GitHub's)."""
        import github

        body = review_body(envelope_json, f"commitguard check-pr --github {self.slug} --pr {self.number}")
        note = ""
        try:
            with github_errors(f"posting the approval on pull request #{self.number}"):
                commit = self.repository.get_commit(head)
                try:
                    review = self.pull.create_review(commit=commit, body=body, event="APPROVE")
                except github.GithubException as exc:
                    if exc.status != 422:
                        raise
                    review = self.pull.create_review(commit=commit, body=body, event="COMMENT")
                    note = " (as a comment: GitHub refused an approving review, e.g. on one's own pull request)"
                review_id = review.id
        finally:
            self._collected = None
        return f"review {review_id} on {self.slug}#{self.number}{note}"
