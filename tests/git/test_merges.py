"""Merge faithfulness on real histories made with git: clean merges, evil merges,
hand-resolved conflicts, squashes, rebases, octopus and criss-cross merges, and the cache."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pygit2
import pytest

from commitguard.git import merges
from commitguard.git.merge_cache import MergeCache, check_merges
from commitguard.git.merges import MergeCheck, check_merge, check_replay
from tests.fixtures.repo import GitRepo

LINES = "".join(f"line {i}\n" for i in range(1, 9))


def edit(text: str, line: int, new: str) -> str:
    lines = text.splitlines(keepends=True)
    lines[line - 1] = new + "\n"
    return "".join(lines)


@pytest.fixture
def repo(tmp_path) -> GitRepo:
    r = GitRepo(tmp_path / "r", tmp_path / "home")
    r.git("config", "merge.conflictStyle", "merge")
    r.commit("base", {"a.nix": LINES, "b.nix": LINES, "c.nix": "c\n"})
    return r


def side(r: GitRepo, branch: str, files: dict) -> str:
    """A commit on ``branch`` (made from main's tip), back on main after."""
    r.git("checkout", "-q", "-b", branch)
    oid = r.commit(branch, files)
    r.git("checkout", "-q", "main")
    return oid


def merge(r: GitRepo, *args: str) -> str:
    r.git("merge", "-q", "--no-edit", *args)
    return r.rev("HEAD")


def check(r: GitRepo, commit: str) -> MergeCheck:
    return check_merge(pygit2.Repository(str(r.path)), commit)


def test_no_ff_merge_of_separate_edits_is_clean(repo):
    side(repo, "x", {"a.nix": edit(LINES, 1, "x's")})
    repo.commit("main", {"a.nix": edit(LINES, 8, "main's")})
    m = merge(repo, "--no-ff", "x")
    assert check(repo, m) == MergeCheck(m, True, (), "tree is the clean merge of its 2 parents")


def test_no_ff_merge_of_a_fast_forward_is_clean(repo):
    side(repo, "x", {"d.nix": "new\n"})
    m = merge(repo, "--no-ff", "x")
    assert check(repo, m) == MergeCheck(m, True, (), "tree is the clean merge of its 2 parents")


def test_merge_with_strategy_ours_drops_the_other_side(repo):
    side(repo, "x", {"a.nix": edit(LINES, 1, "x's"), "d.nix": "d\n"})
    repo.commit("main", {"b.nix": edit(LINES, 8, "main's")})
    m = merge(repo, "-s", "ours", "x")
    assert check(repo, m) == MergeCheck(m, False, ("a.nix", "d.nix"), "adds changes of its own in 2 paths: a.nix, d.nix")


def test_conflict_resolved_by_hand_is_the_merges_own(repo):
    side(repo, "x", {"a.nix": edit(LINES, 3, "x's")})
    repo.commit("main", {"a.nix": edit(LINES, 3, "main's"), "b.nix": edit(LINES, 1, "main's")})
    repo.git("merge", "-q", "x", check=False)
    repo.write({"a.nix": edit(LINES, 3, "both")})
    m = repo.commit("resolved")
    assert len(repo.git("rev-list", "--parents", "-n1", m).split()) == 3
    assert check(repo, m) == MergeCheck(
        m, False, ("a.nix",), "its parents do not merge cleanly (conflicts in a.nix); the resolution is the merge's own")


def test_conflict_resolution_with_an_extra_edit_names_both(repo):
    side(repo, "x", {"a.nix": edit(LINES, 3, "x's")})
    repo.commit("main", {"a.nix": edit(LINES, 3, "main's")})
    repo.git("merge", "-q", "x", check=False)
    repo.write({"a.nix": edit(LINES, 3, "both"), "c.nix": "sneaked\n"})
    m = repo.commit("resolved")
    got = check(repo, m)
    assert got == MergeCheck(m, False, ("a.nix", "c.nix"),
                             "its parents do not merge cleanly (conflicts in a.nix); the resolution is the merge's own; "
                             "it also changes c.nix")


def test_evil_merge_with_an_extra_edit(repo):
    side(repo, "x", {"a.nix": edit(LINES, 1, "x's")})
    repo.commit("main", {"a.nix": edit(LINES, 8, "main's")})
    repo.git("merge", "-q", "--no-ff", "--no-commit", "x")
    repo.write({"b.nix": edit(LINES, 4, "evil"), "e.nix": "evil too\n"})
    m = repo.commit("merge x")
    assert check(repo, m) == MergeCheck(m, False, ("b.nix", "e.nix"), "adds changes of its own in 2 paths: b.nix, e.nix")


def test_evil_merge_binary_rename_mode_submodule_and_deletion_are_all_paths(repo):
    side(repo, "x", {"a.nix": edit(LINES, 1, "x's")})
    repo.git("merge", "-q", "--no-ff", "--no-commit", "x")
    (repo.path / "bin.dat").write_bytes(b"\0\1\2\xff" * 100)
    repo.git("add", "bin.dat")
    (repo.path / "renamed").mkdir()
    repo.git("mv", "b.nix", "renamed/b.nix")
    repo.git("update-index", "--chmod=+x", "a.nix")
    repo.git("rm", "-q", "c.nix")
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{repo.rev('HEAD')},vendor/sub")
    m = repo.commit("merge x")
    assert check(repo, m) == MergeCheck(
        m, False, ("a.nix", "b.nix", "bin.dat", "c.nix", "renamed/b.nix", "vendor/sub"),
        "adds changes of its own in 6 paths: a.nix, b.nix, bin.dat, c.nix, renamed/b.nix and 1 more")


def test_a_file_that_becomes_a_link_is_one_path(repo):
    side(repo, "x", {"a.nix": edit(LINES, 1, "x's")})
    repo.git("merge", "-q", "--no-ff", "--no-commit", "x")
    (repo.path / "b.nix").unlink()
    (repo.path / "b.nix").symlink_to("/etc/passwd")
    repo.git("add", "b.nix")
    m = repo.commit("merge x")
    assert check(repo, m) == MergeCheck(m, False, ("b.nix",), "adds changes of its own in 1 path: b.nix")


def test_a_file_replaced_by_a_directory_reports_what_is_below(repo):
    side(repo, "x", {"a.nix": edit(LINES, 1, "x's")})
    repo.git("merge", "-q", "--no-ff", "--no-commit", "x")
    repo.git("rm", "-q", "c.nix")
    repo.write({"c.nix/one": "1\n", "c.nix/deeper/two": "2\n"})
    m = repo.commit("merge x")
    assert check(repo, m).differing == ("c.nix", "c.nix/deeper/two", "c.nix/one")


def test_clean_merge_follows_a_rename_on_one_side(repo):
    side(repo, "x", {"a.nix": None, "moved/a.nix": LINES})
    repo.commit("main", {"a.nix": edit(LINES, 8, "main's")})
    m = merge(repo, "--no-ff", "x")
    assert (repo.path / "moved/a.nix").read_text() == edit(LINES, 8, "main's")
    assert check(repo, m).clean


def test_rename_on_both_sides_resolved_by_hand(repo):
    side(repo, "x", {"a.nix": None, "x.nix": LINES})
    repo.commit("main", {"a.nix": None, "m.nix": LINES})
    repo.git("merge", "-q", "x", check=False)
    repo.git("add", "-A")
    m = repo.commit("kept both")
    got = check(repo, m)
    assert got == MergeCheck(m, False, ("a.nix", "m.nix", "x.nix"), "its parents do not merge cleanly (conflicts in "
                                                                    "a.nix, m.nix, x.nix); the resolution is the merge's own")


def test_a_checked_out_union_attribute_does_not_make_a_conflict_clean(repo):
    side(repo, "x", {"a.nix": edit(LINES, 3, "x's")})
    repo.commit("main", {"a.nix": edit(LINES, 3, "main's"), ".gitattributes": "*.nix merge=union\n"})
    m = merge(repo, "x")  # git merges it "cleanly" with the union driver
    assert "x's" in (repo.path / "a.nix").read_text()
    got = check(repo, m)
    assert (got.clean, got.differing) == (False, ("a.nix",))


@pytest.fixture
def global_git_config(tmp_path):
    """libgit2's search path for the user's git configuration, pointed at a scratch home."""
    home = tmp_path / "global-home"
    home.mkdir()
    level = pygit2.enums.ConfigLevel.GLOBAL
    saved = pygit2.settings.search_path[level]
    pygit2.settings.search_path[level] = str(home)
    yield home
    pygit2.settings.search_path[level] = saved


def test_the_users_own_union_attribute_does_not_make_a_conflict_clean(repo, global_git_config):
    (global_git_config / "attributes").write_text("*.nix merge=union\n")
    (global_git_config / ".gitconfig").write_text(f"[core]\n\tattributesFile = {global_git_config / 'attributes'}\n")
    r = pygit2.Repository(str(repo.path))
    assert r.get_attr("a.nix", "merge") == "union"  # libgit2 does read it for the repository itself
    side(repo, "x", {"a.nix": edit(LINES, 3, "x's")})
    repo.commit("main", {"a.nix": edit(LINES, 3, "main's")})
    repo.git("-c", f"core.attributesFile={global_git_config / 'attributes'}", "merge", "-q", "--no-edit", "x")
    m = repo.rev("HEAD")
    assert len(repo.git("rev-list", "--parents", "-n1", m).split()) == 3
    got = check_merge(r, m)
    assert (got.clean, got.differing) == (False, ("a.nix",))
    assert pygit2.settings.search_path[pygit2.enums.ConfigLevel.GLOBAL] == str(global_git_config)


def test_octopus_merge_is_clean(repo):
    side(repo, "x", {"a.nix": edit(LINES, 1, "x's")})
    side(repo, "y", {"b.nix": edit(LINES, 1, "y's")})
    side(repo, "z", {"d.nix": "z's\n"})
    repo.commit("main", {"a.nix": edit(LINES, 8, "main's")})
    m = merge(repo, "x", "y", "z")
    assert len(repo.git("rev-list", "--parents", "-n1", m).split()) == 5
    assert check(repo, m) == MergeCheck(m, True, (), "tree is the clean merge of its 4 parents")


def test_octopus_merge_with_an_extra_edit(repo):
    side(repo, "x", {"a.nix": edit(LINES, 1, "x's")})
    side(repo, "y", {"b.nix": edit(LINES, 1, "y's")})
    repo.git("merge", "-q", "--no-commit", "x", "y")
    repo.write({"c.nix": "evil\n"})
    m = repo.commit("octopus")
    assert check(repo, m) == MergeCheck(m, False, ("c.nix",), "adds changes of its own in 1 path: c.nix")


def test_octopus_past_the_parent_limit_is_not_checked(repo, monkeypatch):
    monkeypatch.setattr(merges, "MAX_MERGE_PARENTS", 3)
    side(repo, "x", {"a.nix": edit(LINES, 1, "x's")})
    side(repo, "y", {"b.nix": edit(LINES, 1, "y's")})
    side(repo, "z", {"d.nix": "z's\n"})
    m = merge(repo, "--no-ff", "x", "y", "z")
    assert check(repo, m) == MergeCheck(m, False, (), "not checked: 4 parents, more than the 3 a merge is checked with")


def test_octopus_whose_parents_conflict_names_the_step(repo):
    side(repo, "x", {"a.nix": edit(LINES, 1, "x's")})
    side(repo, "y", {"a.nix": edit(LINES, 1, "y's")})
    # git refuses such an octopus; one made by hand is reported, not trusted
    tree = repo.tree("x")
    m = repo.git("commit-tree", tree, "-p", "main", "-p", "x", "-p", "y", "-m", "octopus")
    assert check(repo, m) == MergeCheck(
        m, False, ("a.nix",),
        "its parents do not merge cleanly (octopus: merging parent 3) (conflicts in a.nix); the resolution is the merge's own")


@pytest.mark.parametrize("octopus", [False, True])
def test_merge_of_unrelated_histories(repo, octopus):
    repo.git("checkout", "-q", "--orphan", "other")
    repo.git("rm", "-q", "-rf", ".")
    repo.commit("other root", {"other/x.nix": "x\n"})
    repo.git("checkout", "-q", "main")
    start = repo.rev("HEAD")
    m = merge(repo, "--allow-unrelated-histories", "other")
    parents = 2
    if octopus:  # git's octopus refuses unrelated histories: made by hand, with the tree of two merges
        y = side(repo, "y", {"b.nix": edit(LINES, 1, "y's")})
        tree = repo.tree(merge(repo, "y"))
        m = repo.git("commit-tree", tree, "-p", start, "-p", "other", "-p", y, "-m", "octopus")
        parents = 3
    assert len(repo.git("rev-list", "--parents", "-n1", m).split()) == parents + 1
    got = check(repo, m)
    assert got == MergeCheck(m, True, (), f"tree is the clean merge of its {parents} parents"), got.reason


def test_criss_cross_merge_uses_the_recursive_base(repo):
    a1 = side(repo, "a", {"a.nix": edit(LINES, 1, "a's")})
    b1 = side(repo, "b", {"b.nix": edit(LINES, 1, "b's")})
    repo.checkout("a", "a")
    merge(repo, "--no-ff", b1)
    repo.commit("a2", {"a.nix": edit(edit(LINES, 1, "a's"), 8, "a2")})
    repo.checkout("b", "b")
    merge(repo, "--no-ff", a1)
    repo.commit("b2", {"b.nix": edit(edit(LINES, 1, "b's"), 8, "b2")})
    m = merge(repo, "--no-ff", "a")
    assert len(repo.git("merge-base", "--all", f"{m}^1", f"{m}^2").split()) == 2
    assert check(repo, m) == MergeCheck(m, True, (), "tree is the clean merge of its 2 parents")
    repo.git("reset", "-q", "--hard", f"{m}^1")
    repo.git("merge", "-q", "--no-ff", "--no-commit", "a")
    repo.write({"c.nix": "evil\n"})
    evil = repo.commit("evil criss-cross")
    assert check(repo, evil) == MergeCheck(evil, False, ("c.nix",), "adds changes of its own in 1 path: c.nix")


def test_squash_is_the_replay_of_the_branch(repo):
    base = repo.rev("HEAD")
    repo.git("checkout", "-q", "-b", "x")
    repo.commit("x1", {"a.nix": edit(LINES, 1, "x1")})
    head = repo.commit("x2", {"d.nix": "x2\n"})
    repo.git("checkout", "-q", "main")
    repo.commit("main", {"a.nix": edit(LINES, 8, "main's")})
    repo.git("merge", "-q", "--squash", "x")
    landed = repo.commit("squashed x")
    r = pygit2.Repository(str(repo.path))
    assert check_replay(r, base, head, landed) == MergeCheck(
        landed, True, (), "tree is base..head replayed on the commit it landed on")


def test_squash_with_an_extra_line(repo):
    base = repo.rev("HEAD")
    head = side(repo, "x", {"a.nix": edit(LINES, 1, "x1")})
    repo.git("merge", "-q", "--squash", "x")
    repo.write({"b.nix": LINES + "extra\n"})
    landed = repo.commit("squashed x")
    assert check_replay(pygit2.Repository(str(repo.path)), base, head, landed) == MergeCheck(
        landed, False, ("b.nix",), "differs from base..head replayed on the commit it landed on in 1 path: b.nix")


def test_squash_that_conflicts_with_the_branch(repo):
    base = repo.rev("HEAD")
    head = side(repo, "x", {"a.nix": edit(LINES, 1, "x1")})
    repo.commit("main", {"a.nix": edit(LINES, 1, "main's")})
    landed = repo.commit("claims to be x", {"a.nix": edit(LINES, 1, "x1")})
    got = check_replay(pygit2.Repository(str(repo.path)), base, head, landed, onto=f"{landed}^1")
    assert got == MergeCheck(landed, False, ("a.nix",), "base..head does not apply cleanly on the commit it landed on "
                                                        "(conflicts in a.nix); the result is its own")


def test_rebase_of_two_commits(repo):
    base = repo.rev("HEAD")
    repo.git("checkout", "-q", "-b", "x")
    repo.commit("x1", {"a.nix": edit(LINES, 1, "x1")})
    head = repo.commit("x2", {"d.nix": "x2\n"})
    repo.git("checkout", "-q", "main")
    onto = repo.commit("main", {"b.nix": edit(LINES, 8, "main's")})
    repo.git("checkout", "-q", "x")
    repo.git("rebase", "-q", "main")
    landed = repo.rev("HEAD")
    assert repo.rev(f"{landed}~2") == onto
    r = pygit2.Repository(str(repo.path))
    assert check_replay(r, base, head, landed, onto=onto).clean
    assert check_replay(r, base, head, landed).clean  # its own parent holds x1 already


def test_rebase_with_an_extra_edit_in_its_first_commit_is_caught_with_onto(repo):
    base = repo.rev("HEAD")
    repo.git("checkout", "-q", "-b", "x")
    repo.commit("x1", {"a.nix": edit(LINES, 1, "x1")})
    head = repo.commit("x2", {"d.nix": "x2\n"})
    repo.git("checkout", "-q", "main")
    onto = repo.rev("HEAD")
    repo.commit("x1'", {"a.nix": edit(LINES, 1, "x1"), "c.nix": "evil\n"})
    landed = repo.commit("x2'", {"d.nix": "x2\n"})
    got = check_replay(pygit2.Repository(str(repo.path)), base, head, landed, onto=onto)
    assert (got.clean, got.differing) == (False, ("c.nix",))


def test_a_commit_that_is_not_a_merge_is_refused(repo):
    with pytest.raises(ValueError, match="not a merge commit"):
        check(repo, repo.rev("HEAD"))
    with pytest.raises(ValueError, match="not a commit"):
        check(repo, repo.tree("HEAD"))


def test_checking_writes_nothing_into_the_repository(repo):
    side(repo, "x", {"a.nix": edit(LINES, 3, "x's")})
    repo.commit("main", {"a.nix": edit(LINES, 3, "main's")})
    repo.git("merge", "-q", "x", check=False)
    repo.write({"a.nix": edit(LINES, 3, "both")})
    m = repo.commit("resolved")
    objects = repo.path / ".git" / "objects"
    before = sorted(p.relative_to(objects) for p in objects.rglob("*"))
    assert not check(repo, m).clean
    assert sorted(p.relative_to(objects) for p in objects.rglob("*")) == before


def test_a_missing_parent_is_not_clean_and_not_cached(repo, tmp_path):
    side(repo, "x", {"a.nix": edit(LINES, 1, "x's")})
    repo.commit("main", {"a.nix": edit(LINES, 8, "main's")})
    m = merge(repo, "--no-ff", "x")
    shallow = tmp_path / "shallow"
    repo.git("clone", "-q", "--depth", "1", f"file://{repo.path}", str(shallow))
    got = check_merge(pygit2.Repository(str(shallow)), m)
    assert (got.clean, got.differing) == (False, ())
    assert got.reason.startswith("not checked: an object could not be read or merged")
    cache = MergeCache(tmp_path / "cache")
    check_merges(pygit2.Repository(str(shallow)), [m], cache=cache)
    assert cache.get([m]) == {}


def test_past_the_limit_the_reason_counts_the_rest(repo, monkeypatch):
    monkeypatch.setattr(merges, "MAX_DIFFERING_PATHS", 3)
    side(repo, "x", {"a.nix": edit(LINES, 1, "x's")})
    repo.git("merge", "-q", "--no-ff", "--no-commit", "x")
    repo.write({f"evil/{i:02}.nix": f"{i}\n" for i in range(12)})
    m = repo.commit("merge x")
    assert check(repo, m) == MergeCheck(m, False, ("evil/00.nix", "evil/01.nix", "evil/02.nix"),
                                        "adds changes of its own in 12 paths: evil/00.nix, evil/01.nix, "
                                        "evil/02.nix and 9 more")


# --------------------------------------------------------------------------- the cache


def evil_and_clean(repo: GitRepo) -> tuple[str, str]:
    side(repo, "x", {"a.nix": edit(LINES, 1, "x's")})
    clean = merge(repo, "--no-ff", "x")
    side(repo, "y", {"b.nix": edit(LINES, 1, "y's")})
    repo.git("merge", "-q", "--no-ff", "--no-commit", "y")
    repo.write({"c.nix": "evil\n"})
    return clean, repo.commit("merge y")


def test_cache_round_trip(repo, tmp_path, monkeypatch):
    clean, evil = evil_and_clean(repo)
    r = pygit2.Repository(str(repo.path))
    first = check_merges(r, [clean, evil], cache=MergeCache(tmp_path / "cache"))
    assert first[clean].clean and not first[evil].clean
    monkeypatch.setattr(merges.MergeChecker, "check_merge", lambda *a: pytest.fail("checked again"))
    again = check_merges(r, [evil, clean], cache=MergeCache(tmp_path / "cache"))
    assert again == first and list(again) == [evil, clean]


def test_a_damaged_cache_is_rebuilt(repo, tmp_path, capsys):
    clean, evil = evil_and_clean(repo)
    r = pygit2.Repository(str(repo.path))
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "merges.sqlite3").write_bytes(b"not a database" * 100)
    got = check_merges(r, [clean, evil], cache=MergeCache(tmp_path / "cache"))
    assert "merge cache damaged" in capsys.readouterr().err
    assert got[clean].clean and not got[evil].clean
    assert MergeCache(tmp_path / "cache").get([clean, evil]) == got


def test_a_forged_cache_row_is_not_trusted(repo, tmp_path):
    clean, evil = evil_and_clean(repo)
    r = pygit2.Repository(str(repo.path))
    check_merges(r, [evil], cache=MergeCache(tmp_path / "cache"))
    db = sqlite3.connect(tmp_path / "cache" / "merges.sqlite3")
    with db:
        db.execute("UPDATE merges SET result = ?", ('[true,["c.nix"],"x"]',))
    db.close()
    assert check_merges(r, [evil], cache=MergeCache(tmp_path / "cache"))[evil].differing == ("c.nix",)


def test_a_cache_with_other_tables_is_rebuilt(repo, tmp_path, capsys):
    clean, _ = evil_and_clean(repo)
    (tmp_path / "cache").mkdir()
    db = sqlite3.connect(tmp_path / "cache" / "merges.sqlite3")
    db.execute("CREATE TABLE merges (commit_id TEXT, clean INTEGER)")
    db.execute("INSERT INTO merges VALUES (?, 1)", (clean,))
    db.commit()
    db.close()
    cache = MergeCache(tmp_path / "cache")
    assert "rebuilt empty" in capsys.readouterr().err
    assert cache.get([clean]) == {}
    check_merges(pygit2.Repository(str(repo.path)), [clean], cache=cache)
    assert cache.get([clean])[clean].clean


def test_security_md_states_the_limits():
    text = (Path(__file__).parents[2] / "SECURITY.md").read_text()
    row = next(line for line in text.splitlines() if "`commitguard.git.merges`" in line)
    assert f"| {merges.MAX_DIFFERING_PATHS:,} (5 named in the reason) |" in row
    assert merges._NAMED_IN_REASON == 5
    row = next(line for line in text.splitlines() if line.startswith("| parents of a merge checked"))
    assert f"| {merges.MAX_MERGE_PARENTS:,} |" in row


def test_merge_checks_in_worker_processes_agree_and_are_kept(repo, tmp_path, monkeypatch):
    """MergeCheckBatch: the workers' answers are the in-process ones, each asked merge is answered
    whether it was started or not, and every answer that may be kept lands in the cache."""
    from commitguard.git import merge_cache
    from commitguard.git.merge_cache import MergeCheckBatch

    ids = []
    side(repo, "x", {"a.nix": edit(LINES, 1, "x's")})
    repo.commit("main 1", {"a.nix": edit(LINES, 8, "main's")})
    ids.append(merge(repo, "--no-ff", "x"))  # clean
    side(repo, "y", {"b.nix": edit(LINES, 2, "y's")})
    repo.git("merge", "-q", "--no-ff", "--no-commit", "y")
    repo.write({"c.nix": "evil\n"})
    ids.append(repo.commit("evil merge"))  # adds c.nix of its own
    side(repo, "z", {"d.nix": "z\n"})
    ids.append(merge(repo, "--no-ff", "z"))  # clean
    monkeypatch.setattr(merge_cache, "PARALLEL_THRESHOLD", 1)
    monkeypatch.setattr(merge_cache, "CHUNK", 1)
    pg = pygit2.Repository(str(repo.path))
    expected = {m: check_merge(pg, m) for m in ids}
    assert [expected[m].clean for m in ids] == [True, False, True]
    cache = MergeCache(tmp_path / "cache")
    batch = MergeCheckBatch(pg, cache, jobs=2)
    batch.start(ids[:2])
    assert batch._pool is not None  # the workers were started
    assert {m: batch.get(m) for m in reversed(ids)} == expected  # ids[2] was never started: checked here
    batch.close()
    assert cache.get(ids) == expected
    again = MergeCheckBatch(pg, cache, jobs=2)
    again.start(ids)
    assert again._pool is None and again.known == expected  # all from the cache: no worker
