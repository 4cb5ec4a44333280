"""What ``git archive`` (a forge's release archive) leaves out of a signed tree: ``export-ignore``.

fetchFromGitHub and its siblings download the forge's archive, which is
``git archive`` of the tag: paths whose ``.gitattributes`` say
``export-ignore`` are not in it (a directory so marked is left out whole; a
directory whose every entry is left out stays, empty). Its NAR is then a
function of the signed tree alone, and computing it binds an honest
expression's hash to the signature.

Attributes must come from the signed commit only. libgit2 also consults
the repository's index, ``info/attributes`` and the user's
``core.attributesFile``; a mirror's checkout (another revision) would leak
into the answer. So the lookup runs in a throw-away bare repository that
borrows the mirror's objects (``objects/info/alternates``) and has no index,
no ``info/attributes`` and an empty ``core.attributesFile``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pygit2
from pygit2.enums import AttrCheck

from commitguard.upstream import nar
from commitguard.upstream.scratch import scratch_directory

_FLAGS = AttrCheck.INDEX_ONLY | AttrCheck.INCLUDE_COMMIT | AttrCheck.NO_SYSTEM


def archive_nar(repo: pygit2.Repository, commit_id: pygit2.Oid, tree_id: pygit2.Oid, algorithm: str) -> str:
    """The NAR hash of ``git archive COMMIT`` unpacked: the tree without its export-ignore paths."""
    with scratch_directory("commitguard-attrs-") as scratch:
        view = pygit2.init_repository(os.fspath(scratch / "view.git"), bare=True)
        objects = Path(repo.path) / "objects"
        (scratch / "view.git" / "objects" / "info" / "alternates").write_text(os.fspath(objects.resolve()) + "\n")
        empty = scratch / "no-attributes"
        empty.write_bytes(b"")
        view.config["core.attributesFile"] = os.fspath(empty)
        view = pygit2.Repository(os.fspath(scratch / "view.git"))  # reopen: alternates are read on open
        commit = str(commit_id)

        def ignored(path: str) -> bool:
            return view.get_attr(path, "export-ignore", flags=_FLAGS, commit=commit) is True

        return nar.hash_git_tree(view, tree_id, algorithm, exclude=ignored).hash
