"""The forge's own word on a tag or commit signature (GitHub's ``verification``).

GitHub checks signatures against whatever keys the tagger uploaded to their
account, which says nothing about whether they are the upstream's release
keys; so a yes from GitHub is ``forge-verified``, never ``verified``, and
it is asked only when the mirror gave no evidence of our own. A no (unsigned,
invalid) is reported as GitHub's, since it can never raise trust. The
forge is a courier like everywhere else in commitguard: an answer that is
malformed or names another tag than the one asked for counts for nothing.
"""

from __future__ import annotations

import os
import re
from urllib.parse import quote

from commitguard.model.sources import FetcherCall, UpstreamEvidence
from commitguard.upstream.interface import EvidenceContext, EvidenceSource, unavailable, unresolved_locators
from commitguard.upstream.matching import fetcher_name, identity
from commitguard.upstream.signed_tag import GIT_FETCHERS

DEFAULT_API_URL = "https://api.github.com"
_TIMEOUT = 30
_SLUG = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_SHA = re.compile(r"^[0-9a-f]{40}$")
# GitHub's verification.reason values that say something about the signature
# itself; the rest ("gpgverify_unavailable", "ocsp_pending"...) say GitHub
# could not look, which is no evidence either way.
_REASONS = {
    "unsigned": "unsigned",
    "invalid": "bad-signature",
    "malformed_signature": "bad-signature",
    "malformed_sig": "bad-signature",
    "bad_cert": "bad-signature",
    "ocsp_revoked": "bad-signature",
    "expired_key": "bad-signature",
    "not_signing_key": "bad-signature",
    "unknown_key": "unknown-key",
    "no_user": "unknown-key",
    "unverified_email": "unknown-key",
    "bad_email": "unknown-key",
    "unknown_signature_type": "unknown-key",
}


class ForgeSource(EvidenceSource):
    name = "forge"
    offline = False

    def applies(self, call: FetcherCall) -> bool:
        return fetcher_name(call) in GIT_FETCHERS and bool(call.tag or call.rev) and identity(call).github is not None

    def judge(self, call: FetcherCall, context: EvidenceContext) -> UpstreamEvidence | None:
        if not context.online:
            return None
        if unresolved_locators(call):
            return None
        slug = identity(call).github
        if slug is None or not _SLUG.match(slug) or slug.endswith(("/.", "/..")):
            return unavailable(f"{slug!r} is not a GitHub OWNER/REPO")
        base = (context.github_api or os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
        try:
            return _ask(base, slug, call)
        except _Unusable as exc:
            return unavailable(f"GitHub ({base}) gave no usable answer: {exc}")


class _Unusable(Exception):
    pass


def _client(base: str):
    import github

    token = os.environ.get("GITHUB_TOKEN")
    auth = github.Auth.Token(token) if token else None
    return github.Github(base_url=base, auth=auth, retry=None, timeout=_TIMEOUT, seconds_between_requests=0)


def _get(gh, path: str) -> dict | None:
    """The JSON object at ``path``, None for 404; anything else unusable raises _Unusable."""
    import github
    import requests

    try:
        _headers, data = gh.requester.requestJsonAndCheck("GET", path)
    except github.UnknownObjectException:
        return None
    except github.GithubException as exc:
        message = exc.data.get("message") if isinstance(exc.data, dict) else None
        raise _Unusable(f"{path} answered {exc.status} ({message or 'no message'})") from None
    except (requests.RequestException, OSError) as exc:
        raise _Unusable(f"{path} cannot be reached ({type(exc).__name__})") from None
    except ValueError:
        raise _Unusable(f"{path} did not answer JSON") from None
    if not isinstance(data, dict):
        raise _Unusable(f"{path} did not answer a JSON object")
    return data


def _ask(base: str, slug: str, call: FetcherCall) -> UpstreamEvidence:
    gh = _client(base)
    try:
        rev = call.rev or ""
        tag = call.tag or (rev.removeprefix("refs/tags/") if not _SHA.match(rev) else None)
        if tag is not None:
            if ".." in tag.split("/") or not tag:
                return unavailable(f"{tag!r} is not a tag name")
            ref = _get(gh, f"/repos/{slug}/git/ref/tags/{quote(tag, safe='/')}")
            if ref is None:
                return unavailable(f"GitHub has no tag {tag} in {slug}")
            obj = ref.get("object")
            if not isinstance(obj, dict) or not isinstance(obj.get("sha"), str) or not _SHA.match(obj["sha"]):
                raise _Unusable("the tag reference has no object sha")
            if obj.get("type") == "tag":
                data = _get(gh, f"/repos/{slug}/git/tags/{obj['sha']}")
                if data is None:
                    raise _Unusable(f"tag object {obj['sha']} is missing")
                if data.get("tag") != tag:
                    return UpstreamEvidence(
                        status="bad-signature",
                        reason=f"GitHub's tag object for {tag} is named {data.get('tag')!r}: a tag of another name "
                        "cannot vouch for this one (tag name replay)",
                        evidence="forge",
                    )
                return _verdict(data.get("verification"), f"tag {tag}", "tag")
            if obj.get("type") != "commit":
                raise _Unusable(f"tag {tag} points at a {obj.get('type')!r}")
            sha, label = obj["sha"], f"tag {tag} (lightweight), commit {obj['sha']}"
        else:
            sha, label = rev, f"commit {rev}"
        data = _get(gh, f"/repos/{slug}/commits/{sha}")
        if data is None:
            return unavailable(f"GitHub has no commit {sha} in {slug}")
        commit = data.get("commit")
        return _verdict(commit.get("verification") if isinstance(commit, dict) else None, label, "commit")
    finally:
        gh.close()


def _verdict(verification, label: str, kind: str) -> UpstreamEvidence:
    if not isinstance(verification, dict) or not isinstance(verification.get("verified"), bool):
        raise _Unusable(f"{label} has no verification object")
    reason = verification.get("reason")
    reason = reason if isinstance(reason, str) else "no reason given"
    unbound = "GitHub's word only: the signing key is not checked against the keyring, and the expression's hash is not checked"
    if verification["verified"]:
        return UpstreamEvidence(
            status="forge-verified",
            reason=f"{label}: GitHub reports the {kind} signature as verified ({reason}); {unbound}",
            evidence="forge",
            signer="github",
        )
    status = _REASONS.get(reason)
    if status is None:
        return unavailable(f"{label}: GitHub could not verify the {kind} signature ({reason})")
    return UpstreamEvidence(status=status, reason=f"{label}: GitHub reports the {kind} signature as {reason}",
                            evidence="forge" if status != "unsigned" else None)
