"""The local forge record: merged pull requests and their reviews, read once through GitHub's API.

``forge-review`` (SPEC, "Trust through review") lets a consumer accept a commit
because the forge recorded an approving review of exactly the head that was
merged. Asking GitHub about every commit on every run would make ``verify``
depend on the network and on a rate limit, so ``forge-sync`` reads the merged
pull requests (number, base, head, merge commit, author) and their reviews
(login, state, commit, time) into a file beside the cache; later runs read
only that file.

The record is the tool's own state, yet it must never vouch for more than it
says: every field is checked when the file is loaded, and a damaged file is
refused with one line naming the file and line, never half-read. A forge
account is weaker than a key: the engine accepts what this record says only
when the policy lists ``forge-review``.

Reading is incremental and bounded. Pull requests are listed by last update,
newest first; a pull request already recorded with the same update time is
not read again, and the walk stops at the newest update a previous complete
sync saw. A rate-limited answer stops the sync with the reset time (what was
read so far is kept), unless the caller asked to wait for the reset.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from commitguard.errors import CommitguardError
from commitguard.forge import DEFAULT_API_URL, api_url, github_client, github_errors, parse_slug

FORMAT = "commitguard-forge-record"
VERSION = 1
# Limits (SECURITY.md, "Resource limits").
MAX_PULLS_PER_SYNC = 5_000  # pull requests whose reviews are read in one run: about an hour of a token's budget
MAX_LISTED_PER_SYNC = 1_000_000  # pull requests listed in one run (a server that pages without end)
MAX_REVIEWS_PER_PULL = 1_000  # beyond: the pull request is recorded without reviews, and approves nothing
MAX_RECORD_BYTES = 1 << 30
MAX_LINE_BYTES = 4 << 20
MAX_RATE_LIMIT_WAITS = 24  # waits for a reset in one run, when the caller asked to wait
MAX_RATE_LIMIT_WAIT = 3_700  # seconds: longer than GitHub's hourly window means the answer is not a reset

STATES = ("APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING")
# A later review in one of these replaces the reviewer's verdict; COMMENTED and PENDING do not (as on GitHub).
_DECISIVE = ("APPROVED", "CHANGES_REQUESTED", "DISMISSED")
_SHA = re.compile(r"^[0-9a-f]{40}$")
# GitHub logins: letters, digits, hyphens, up to 39 characters (older accounts may have doubled or
# trailing hyphens); apps review as "NAME[bot]".
_LOGIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}(?:\[bot\])?$")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_REF = re.compile(r"^[^\x00-\x20\x7f~^:?*\[\\]{1,255}$")


@dataclass(frozen=True)
class ReviewRecord:
    """One review as GitHub recorded it. ``commit`` is None when GitHub no longer knows it."""

    id: int
    login: str
    state: str
    commit: str | None
    submitted_at: str | None  # None only while PENDING

    def as_dict(self) -> dict:
        return {"id": self.id, "login": self.login, "state": self.state, "commit": self.commit,
                "submitted_at": self.submitted_at}


@dataclass(frozen=True)
class PullRecord:
    """A merged pull request: what it proposed (base..head) and what landed (merge_commit).
    ``reviews_complete`` is false when it had more reviews than are read: it then approves nothing."""

    number: int
    base: str
    base_ref: str
    head: str
    merge_commit: str
    merged_at: str
    updated_at: str
    author: str | None
    reviews: tuple[ReviewRecord, ...]
    reviews_complete: bool = True

    def as_dict(self) -> dict:
        return {"number": self.number, "base": self.base, "base_ref": self.base_ref, "head": self.head,
                "merge_commit": self.merge_commit, "merged_at": self.merged_at, "updated_at": self.updated_at,
                "author": self.author, "reviews": [r.as_dict() for r in self.reviews],
                "reviews_complete": self.reviews_complete}


@dataclass(frozen=True)
class ForgeRecord:
    """A repository's merged pull requests as read from the forge.

    ``complete_since``..``complete_through``: every pull request updated in that
    window was read (``complete_since`` None: since the beginning;
    ``complete_through`` None: no sync has run to its end yet). Pull requests
    outside it may be missing, which only means they vouch for nothing."""

    path: str
    forge: str
    repository: str
    synced_at: str
    complete_since: str | None
    complete_through: str | None
    pulls: tuple[PullRecord, ...]
    _by_commit: dict[str, tuple[PullRecord, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, list[PullRecord]] = {}
        for pull in self.pulls:
            for sha in dict.fromkeys((pull.merge_commit, pull.head)):
                index.setdefault(sha, []).append(pull)
        object.__setattr__(self, "_by_commit", {k: tuple(v) for k, v in index.items()})

    @classmethod
    def load(cls, path: str | os.PathLike) -> "ForgeRecord":
        """Read and check a record file; any damage stops here (exit 2), naming the file and line."""
        return _load(Path(path))

    def pulls_merged_as(self, commit_sha: str) -> list[PullRecord]:
        """Pull requests whose merge commit is ``commit_sha`` (a merge, the squash, the last commit
        of a rebase) or whose head is ``commit_sha`` (a fast-forward, a rebase that kept the head)."""
        return list(self._by_commit.get(commit_sha.lower(), ()))

    def pull(self, number: int) -> PullRecord | None:
        return next((p for p in self.pulls if p.number == number), None)


def approvals_of(pull: PullRecord) -> list[ReviewRecord]:
    """The approvals that stand for exactly the pull request's head: per login, the latest
    review that gives a verdict (approved, changes requested, dismissed) must be an approval
    of ``pull.head``. A later request for changes or a dismissal cancels an approval; an
    approval of an earlier head does not carry over."""
    if not pull.reviews_complete:
        return []
    latest: dict[str, ReviewRecord] = {}
    for review in sorted((r for r in pull.reviews if r.state in _DECISIVE),
                         key=lambda r: (r.submitted_at or "", r.id)):
        latest[review.login] = review
    return [r for login, r in sorted(latest.items()) if r.state == "APPROVED" and r.commit == pull.head]


# --------------------------------------------------------------------------- where records live


def forge_host(url: str | None = None) -> str:
    """``github.com`` for GitHub's API, else the API's host (GitHub Enterprise, a test server)."""
    url = url or api_url()
    if url.rstrip("/") == DEFAULT_API_URL:
        return "github.com"
    host = (urlsplit(url).netloc or "").lower()
    if not re.fullmatch(r"[a-z0-9.-]+(?::\d{1,5})?", host):
        raise CommitguardError(f"{url!r} has no usable host name", field="GITHUB_API_URL")
    return host


def default_record_path(slug: str) -> Path:
    """``CACHE/forge/HOST/OWNER/REPO.jsonl``, beside the verdict cache (``$COMMITGUARD_CACHE_DIR``)."""
    from commitguard.verify.cache import default_cache_dir

    owner, repo = parse_slug(slug).split("/")
    return default_cache_dir() / "forge" / forge_host() / owner / f"{repo}.jsonl"


# --------------------------------------------------------------------------- checking values


def _sha(value, what: str) -> str:
    if not isinstance(value, str) or not _SHA.match(value):
        raise ValueError(f"{what}: {value!r} is not a 40-hex commit id")
    return value


def _login(value, what: str) -> str:
    if not isinstance(value, str) or not _LOGIN.match(value):
        raise ValueError(f"{what}: {value!r} is not a GitHub login")
    return value


def _timestamp(value, what: str) -> str:
    """UTC, to the second, as ``YYYY-MM-DDTHH:MM:SSZ`` (sorts as text)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if not isinstance(value, str) or not _TIMESTAMP.match(value):
        raise ValueError(f"{what}: {value!r} is not a UTC time (YYYY-MM-DDTHH:MM:SSZ)")
    try:
        datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise ValueError(f"{what}: {value!r} is not a UTC time (YYYY-MM-DDTHH:MM:SSZ)") from None
    return value


def _positive(value, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 1 << 63:
        raise ValueError(f"{what}: {value!r} is not a positive number")
    return value


def _ref(value, what: str) -> str:
    if not isinstance(value, str) or not _REF.match(value) or ".." in value or value.endswith((".", "/", ".lock")):
        raise ValueError(f"{what}: {value!r} is not a branch name")
    return value


def _review(data: dict, what: str) -> ReviewRecord:
    state = data.get("state")
    if state not in STATES:
        raise ValueError(f"{what}.state: {state!r} is not one of {', '.join(STATES)}")
    commit = data.get("commit")
    submitted = data.get("submitted_at")
    if submitted is None and state != "PENDING":
        raise ValueError(f"{what}.submitted_at: a {state} review has no time")
    return ReviewRecord(
        id=_positive(data.get("id"), f"{what}.id"),
        login=_login(data.get("login"), f"{what}.login"),
        state=state,
        commit=None if commit is None else _sha(commit, f"{what}.commit"),
        submitted_at=None if submitted is None else _timestamp(submitted, f"{what}.submitted_at"),
    )


def _pull(data: dict) -> PullRecord:
    """A pull request from its record line (or from GitHub's answer, put in the same shape)."""
    _keys(data, PULL_KEYS, "pull request")
    reviews = data.get("reviews")
    if not isinstance(reviews, list) or len(reviews) > MAX_REVIEWS_PER_PULL:
        raise ValueError(f"reviews: not a list of at most {MAX_REVIEWS_PER_PULL} reviews")
    checked = []
    for i, item in enumerate(reviews):
        if not isinstance(item, dict):
            raise ValueError(f"reviews[{i}]: not an object")
        _keys(item, REVIEW_KEYS, f"reviews[{i}]")
        checked.append(_review(item, f"reviews[{i}]"))
    ids = [r.id for r in checked]
    if len(set(ids)) != len(ids):
        raise ValueError("reviews: a review id appears twice")
    author = data.get("author")
    complete = data.get("reviews_complete")
    if not isinstance(complete, bool) or (not complete and checked):
        raise ValueError("reviews_complete: not true or false (false: no reviews kept)")
    return PullRecord(
        number=_positive(data.get("number"), "number"),
        base=_sha(data.get("base"), "base"),
        base_ref=_ref(data.get("base_ref"), "base_ref"),
        head=_sha(data.get("head"), "head"),
        merge_commit=_sha(data.get("merge_commit"), "merge_commit"),
        merged_at=_timestamp(data.get("merged_at"), "merged_at"),
        updated_at=_timestamp(data.get("updated_at"), "updated_at"),
        author=None if author is None else _login(author, "author"),
        reviews=tuple(checked),
        reviews_complete=complete,
    )


PULL_KEYS = frozenset(("number", "base", "base_ref", "head", "merge_commit", "merged_at", "updated_at", "author",
                       "reviews", "reviews_complete"))
REVIEW_KEYS = frozenset(("id", "login", "state", "commit", "submitted_at"))
HEADER_KEYS = frozenset(("format", "version", "forge", "repository", "synced_at", "complete_since",
                         "complete_through"))


def _keys(data: dict, expected: frozenset, what: str) -> None:
    if set(data) != expected:
        odd = sorted(set(data) ^ expected)
        raise ValueError(f"{what}: unexpected or missing fields: {', '.join(map(str, odd))}")


# --------------------------------------------------------------------------- the file


def _load(path: Path) -> ForgeRecord:
    where = str(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_RECORD_BYTES + 1)
    except FileNotFoundError:
        raise CommitguardError("no forge record here: run commitguard forge-sync first", path=where) from None
    except OSError as exc:
        raise CommitguardError(f"cannot read the forge record: {exc.strerror or exc}", path=where) from None
    if len(raw) > MAX_RECORD_BYTES:
        raise CommitguardError(f"the forge record is larger than {MAX_RECORD_BYTES} bytes", path=where)
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        raise CommitguardError("the forge record is empty", path=where, field="line 1")
    pulls: list[PullRecord] = []
    header: dict = {}
    for number, line in enumerate(lines, start=1):
        try:
            if len(line) > MAX_LINE_BYTES:
                raise ValueError(f"longer than {MAX_LINE_BYTES} bytes")
            data = json.loads(line.decode("utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            if number == 1:
                header = _header(data)
            else:
                pull = _pull(data)
                if pulls and pull.number <= pulls[-1].number:
                    raise ValueError(f"number: pull request {pull.number} is out of order or repeated")
                pulls.append(pull)
        except UnicodeDecodeError:
            raise CommitguardError("the forge record is damaged: not UTF-8", path=where,
                                   field=f"line {number}") from None
        except (ValueError, RecursionError) as exc:
            plain = isinstance(exc, json.JSONDecodeError) or not str(exc)
            detail = "not JSON" if plain else str(exc).splitlines()[0]
            raise CommitguardError(f"the forge record is damaged: {detail}", path=where,
                                   field=f"line {number}") from None
    return ForgeRecord(path=where, pulls=tuple(pulls), **header)


def _header(data: dict) -> dict:
    _keys(data, HEADER_KEYS, "header")
    if data.get("format") != FORMAT or data.get("version") != VERSION:
        raise ValueError(f"header: not a {FORMAT} version {VERSION}")
    forge = data.get("forge")
    if not isinstance(forge, str) or not re.fullmatch(r"[a-z0-9.-]+(?::\d{1,5})?", forge):
        raise ValueError(f"forge: {forge!r} is not a host name")
    repository = data.get("repository")
    try:
        usable = isinstance(repository, str) and parse_slug(repository) == repository
    except CommitguardError:
        usable = False
    if not usable:
        raise ValueError(f"repository: {repository!r} is not OWNER/REPO")
    since, through = data.get("complete_since"), data.get("complete_through")
    return {
        "forge": forge,
        "repository": repository,
        "synced_at": _timestamp(data.get("synced_at"), "synced_at"),
        "complete_since": None if since is None else _timestamp(since, "complete_since"),
        "complete_through": None if through is None else _timestamp(through, "complete_through"),
    }


def write_record(path: Path, record: ForgeRecord) -> None:
    """Write atomically (a temporary file in the same directory, then rename): a run that
    stops half-way leaves the previous record, never half of a new one."""
    header = {"format": FORMAT, "version": VERSION, "forge": record.forge, "repository": record.repository,
              "synced_at": record.synced_at, "complete_since": record.complete_since,
              "complete_through": record.complete_through}
    lines = [header] + [p.as_dict() for p in sorted(record.pulls, key=lambda p: p.number)]
    text = "".join(json.dumps(line, sort_keys=True, separators=(",", ":")) + "\n" for line in lines)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as exc:
        raise CommitguardError(f"cannot write the forge record: {exc.strerror or exc}", path=str(path)) from None


# --------------------------------------------------------------------------- reading GitHub


@dataclass(frozen=True)
class SyncProgress:
    """What a sync has done so far; ``waiting_until`` is set while it waits for a rate-limit reset."""

    listed: int
    read: int
    waiting_until: str | None = None


@dataclass(frozen=True)
class SyncSummary:
    """What one ``forge-sync`` did. ``complete``: the walk reached what the record already had
    (or the beginning); ``stopped`` says which limit ended it otherwise."""

    repository: str
    forge: str
    path: str
    listed: int
    read: int
    pulls: int
    complete: bool
    complete_since: str | None
    complete_through: str | None
    stopped: str | None

    def as_dict(self) -> dict:
        return {"repository": self.repository, "forge": self.forge, "record": self.path, "listed": self.listed,
                "read": self.read, "pulls": self.pulls, "complete": self.complete,
                "complete_since": self.complete_since, "complete_through": self.complete_through,
                "stopped": self.stopped}


class _RateLimited(Exception):
    """GitHub said "not before ``reset``" (seconds since the epoch)."""

    def __init__(self, reset: float):
        super().__init__(reset)
        self.reset = reset


def _rate_limit_reset(exc, now: float) -> float | None:
    """The time a rate-limited answer says to come back, or None when the answer is another error."""
    import github

    if getattr(exc, "status", None) not in (403, 429):
        return None
    headers = {str(k).lower(): str(v) for k, v in (getattr(exc, "headers", None) or {}).items()}
    reset = headers.get("x-ratelimit-reset", "")
    if headers.get("x-ratelimit-remaining") == "0":
        return float(reset) if reset.isdigit() else now + 60
    retry_after = headers.get("retry-after", "")
    if retry_after.isdigit():
        return now + int(retry_after)
    if isinstance(exc, github.RateLimitExceededException):
        return float(reset) if reset.isdigit() else now + 60
    return None


def _client():
    """``github_client()``'s settings, with retries only for GitHub's own 5xx hiccups: PyGithub's
    default retry sleeps until a rate limit resets, silently, and here waiting is the caller's choice."""
    import github
    from urllib3.util import Retry

    retry = Retry(total=3, backoff_factor=2, status_forcelist=(500, 502, 503, 504), allowed_methods=frozenset({"GET"}),
                  raise_on_status=False)
    return github.Github(**{**github_client().requester.kwargs, "retry": retry})


def _read_pull(pull, slug: str) -> PullRecord:
    """One merged pull request and its reviews, checked as a record line is."""
    number = pull.number
    where = f"{slug}#{number}" if isinstance(number, int) else slug
    reviews: list[dict] = []
    complete = True
    for count, review in enumerate(pull.get_reviews()):
        if count >= MAX_REVIEWS_PER_PULL:
            reviews, complete = [], False
            break
        user = review.user
        login = user.login if user is not None else None
        if login is None:  # a deleted account ("ghost"): no keyring person can be it
            continue
        reviews.append({"id": review.id, "login": login, "state": review.state, "commit": review.commit_id,
                        "submitted_at": None if review.submitted_at is None else _timestamp(review.submitted_at, "")})
    user = pull.user
    data = {
        "number": number, "base": pull.base.sha, "base_ref": pull.base.ref, "head": pull.head.sha,
        "merge_commit": pull.merge_commit_sha, "merged_at": pull.merged_at, "updated_at": pull.updated_at,
        "author": user.login if user is not None else None, "reviews": reviews, "reviews_complete": complete,
    }
    for key in ("merged_at", "updated_at"):
        if isinstance(data[key], datetime):
            data[key] = _timestamp(data[key], key)
    try:
        return _pull(data)
    except ValueError as exc:
        raise CommitguardError(f"GitHub's answer is refused: {exc}", path=where) from None


def _since(value) -> str | None:
    if value is None or isinstance(value, str) and not value:
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        value += "T00:00:00Z"
    try:
        return _timestamp(value, "--since")
    except ValueError:
        raise CommitguardError(f"{value!r} is not a date (YYYY-MM-DD) or UTC time (YYYY-MM-DDTHH:MM:SSZ)",
                               field="--since") from None


@dataclass
class _Walk:
    """The state of one sync, kept across restarts after a rate-limit wait."""

    pulls: dict[int, PullRecord]
    stop_at: str | None
    listed: int = 0
    read: int = 0
    top: str | None = None
    stopped: str | None = None


def _walk(repo, slug: str, state: _Walk, max_pulls: int, progress) -> bool:
    """List closed pull requests newest-updated first and read what is new; True: the walk
    reached ``stop_at`` or the end (complete), False: a limit stopped it."""
    listing = repo.get_pulls(state="closed", sort="updated", direction="desc")
    state.top = None
    for listed, pull in enumerate(listing, start=1):
        if listed > MAX_LISTED_PER_SYNC:
            state.stopped = f"more than {MAX_LISTED_PER_SYNC} pull requests listed"
            return False
        state.listed = max(state.listed, listed)
        try:
            updated = _timestamp(pull.updated_at, "updated_at")
        except ValueError as exc:
            raise CommitguardError(f"GitHub's answer is refused: {exc}", path=f"{slug}#{pull.number}") from None
        state.top = state.top or updated
        if state.stop_at is not None and updated < state.stop_at:
            return True
        if pull.merged_at is None:
            continue
        known = state.pulls.get(pull.number)
        if known is not None and known.updated_at == updated:
            continue
        if state.read >= max_pulls:
            state.stopped = f"--max-pulls {max_pulls} pull requests read"
            return False
        record = _read_pull(pull, slug)
        state.pulls[record.number] = record
        state.read += 1
        if progress is not None:
            progress(SyncProgress(listed=state.listed, read=state.read))
    return True


def sync_forge_record(
    slug: str,
    path: str | os.PathLike | None = None,
    *,
    since=None,
    progress: Callable[[SyncProgress], None] | None = None,
    max_pulls: int = MAX_PULLS_PER_SYNC,
    wait_on_rate_limit: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> SyncSummary:
    """Bring the forge record of OWNER/REPO (at ``path``, default :func:`default_record_path`) up
    to date with GitHub: merged pull requests updated since the last complete sync (and since
    ``since``, a date, when given). Rate-limited: stops with the reset time after saving what was
    read, or with ``wait_on_rate_limit`` waits for the reset (``progress`` is told until when)."""
    slug = parse_slug(slug)
    if not isinstance(max_pulls, int) or max_pulls < 1:
        raise CommitguardError(f"{max_pulls!r} is not a positive number", field="--max-pulls")
    target = Path(path) if path else default_record_path(slug)
    host = forge_host()
    old = ForgeRecord.load(target) if target.exists() else None
    if old is not None and (old.repository, old.forge) != (slug, host):
        raise CommitguardError(f"this record is of {old.forge}/{old.repository}, not {host}/{slug}",
                               path=str(target), field="repository")
    since_ts = _since(since)
    through = old.complete_through if old is not None else None
    stop_at = since_ts if through is None else min(through, since_ts or through)
    state = _Walk(pulls={p.number: p for p in old.pulls} if old else {}, stop_at=stop_at)
    repo = _client().get_repo(slug)
    waits = 0
    while True:
        try:
            with github_errors(f"reading the merged pull requests of {slug}"):
                try:
                    complete = _walk(repo, slug, state, max_pulls, progress)
                except Exception as exc:
                    reset = _rate_limit_reset(exc, clock())
                    if reset is None:
                        raise
                    raise _RateLimited(reset) from None
            break
        except _RateLimited as limited:
            wait = limited.reset - clock() + 1
            until = datetime.fromtimestamp(limited.reset, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
            if wait_on_rate_limit and waits < MAX_RATE_LIMIT_WAITS and wait <= MAX_RATE_LIMIT_WAIT:
                waits += 1
                if progress is not None:
                    progress(SyncProgress(listed=state.listed, read=state.read, waiting_until=until))
                sleep(max(wait, 0))
                continue
            if state.read:
                _save(target, host, slug, old, state, complete=False, since_ts=since_ts, clock=clock)
            hint = "" if os.environ.get("GITHUB_TOKEN") else "; set GITHUB_TOKEN for a larger limit"
            raise CommitguardError(
                f"reading the merged pull requests of {slug}: GitHub's rate limit is used up until {until}; "
                f"{state.read} pull requests read were saved, run again then (or pass --wait-on-rate-limit){hint}",
                path=api_url()) from None
    record = _save(target, host, slug, old, state, complete=complete, since_ts=since_ts, clock=clock)
    return SyncSummary(repository=slug, forge=host, path=str(target), listed=state.listed, read=state.read,
                       pulls=len(record.pulls), complete=complete, complete_since=record.complete_since,
                       complete_through=record.complete_through, stopped=None if complete else state.stopped)


def _save(target: Path, host: str, slug: str, old: ForgeRecord | None, state: _Walk, *, complete: bool,
          since_ts: str | None, clock) -> ForgeRecord:
    """The new window: a complete walk covers from its first pull request's update down to where
    it stopped, joined to what the record already covered; an incomplete one moves nothing."""
    since, through = (old.complete_since, old.complete_through) if old else (None, None)
    if complete:
        if through is None:  # the first walk to reach its end: it covered down to since_ts
            since = since_ts
        elif since is not None and since_ts is not None:  # it went down to since_ts, below through
            since = min(since, since_ts)
        through = max(filter(None, (state.top, through)), default=None)
    synced_at = datetime.fromtimestamp(clock(), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    record = ForgeRecord(path=str(target), forge=host, repository=slug, synced_at=synced_at, complete_since=since,
                         complete_through=through, pulls=tuple(sorted(state.pulls.values(), key=lambda p: p.number)))
    write_record(target, record)
    return record

