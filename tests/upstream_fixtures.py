"""An offline upstream mirror built with the real tools, for ``test_upstream.py``.

Everything an upstream publishes is made the way upstreams make it: tags
with ``git tag -s`` (GnuPG and SSH), release tarballs with ``git archive``,
detached signatures with ``gpg --detach-sign`` and ``ssh-keygen -Y sign``.
The hashes a package expression would pin are computed the way nixpkgs
computes them: ``git archive`` of the tag unpacked with ``tar`` and hashed
with Nix's own ``nix-hash`` (fetchFromGitHub downloads exactly that
archive), ``tar``/``unzip`` then ``nix-hash`` for fetchzip, the file's bytes
for fetchurl. ``nix-hash`` is required (CI installs nix-bin): an oracle that
fell back to commitguard's own NAR code would test that code against itself.

Layout (``MIRROR/HOST/PATH``, SPEC "Offline upstream mirror")::

    github.com/owner/repo            non-bare; tags v1.0 (gpg), v1.0-ssh, v1.0-unsigned,
                                     v1.0-light, v1.0-stranger, v1.0-tampered, v1.1-replay,
                                     v1.1 and v1.2 (rotated key), v1.1-light (on a signed commit)
    github.com/owner/bare            bare clone of it
    github.com/owner/attrs           a tree with .gitattributes export-ignore, tag v2.0
    github.com/owner/attrs2          nested export-ignore rules (tag v2.1); HEAD checked out with other rules
    github.com/owner/subs            a tree with a submodule, tag v3.0
    gitlab.com/group/owner/glrepo    bare clone (fetchFromGitLab with a group)
    git.example.org/project          bare clone (fetchgit of https://git.example.org/project.git)
    releases.example.org/pkg/...     release files and their signatures
    files.pythonhosted.org/...       an sdist with an .asc (pypi:NAME)
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.fixtures_git import Gpg, PgpSigner, Repo, SshKey, run

WHEN = "2024-06-01T00:00:00Z"
RELEASES = "https://releases.example.org/pkg/"
PYPI_URL = "https://files.pythonhosted.org/packages/source/d/demo-pkg/demo_pkg-1.0.tar.gz"


def flat_sri(path: Path) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


def nix_hash_available() -> bool:
    return shutil.which("nix-hash") is not None


def require_nix_hash() -> None:
    """Fail loudly: the test modules skip (outside CI) when nix-hash is missing,
    so reaching this without it is a misconfigured CI."""
    if not nix_hash_available():
        raise AssertionError("nix-hash is required as the reference NAR hasher (CI installs nix-bin)")


def nix_hash(directory: Path) -> str:
    """Nix's own NAR hash of a directory, as SRI.

    Older nix-hash (Debian's 2.8) has no ``--sri``; its base16 output is
    converted, which is only a change of notation.
    """
    require_nix_hash()
    proc = subprocess.run(["nix-hash", "--type", "sha256", "--sri", str(directory)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode == 0 and proc.stdout.strip().startswith(b"sha256-"):
        return proc.stdout.decode().strip()
    hexdigest = run(["nix-hash", "--type", "sha256", str(directory)]).stdout.decode().strip()
    return "sha256-" + base64.b64encode(bytes.fromhex(hexdigest)).decode()


def reference_nar_hash(directory: Path) -> str:
    return nix_hash(directory)  # never commitguard's own nar module: that is the code under test


@dataclass
class UpstreamWorld:
    root: Path
    mirror: Path
    gpg: Gpg
    pgp: dict[str, str]  # name -> fingerprint (each key signs with its primary)
    certs: dict[str, Path]
    ssh: dict[str, SshKey]
    repo: Repo
    commits: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)  # tag name -> tag object id
    hashes: dict[str, str] = field(default_factory=dict)  # what fetchFromGitHub pins for a rev
    files: dict[str, Path] = field(default_factory=dict)
    zip_hashes: dict[str, str] = field(default_factory=dict)  # what fetchzip pins for a file
    keyring: Path | None = None
    bare_keyring: Path | None = None


def _tag(repo: Repo, name: str, target: str, *, gpg: Gpg | None = None, fpr: str | None = None,
         ssh: SshKey | None = None, annotated: bool = True) -> str:
    env = {"GIT_COMMITTER_DATE": WHEN}
    msg = ["-m", f"Release {name}"]
    if fpr is not None:
        assert gpg is not None
        signer = PgpSigner(gpg, fpr)
        env.update(signer.extra_env(WHEN))
        repo.git(*signer.git_config(gpg), "tag", "-u", f"{fpr}!", *msg, name, target, env=env)
    elif ssh is not None:
        repo.git("-c", "gpg.format=ssh", "-c", f"user.signingkey={ssh.path}", "tag", "-s", *msg, name, target, env=env)
    elif annotated:
        repo.git("tag", "-a", *msg, name, target, env=env)
    else:
        repo.git("tag", name, target)
    return repo.git("rev-parse", f"refs/tags/{name}")


def _write_tree(repo: Repo, files: dict[str, str | tuple[str, str]]) -> str:
    """Write files into the work tree (value ("exec", text) or ("link", target)) and return the tree id."""
    for old in repo.path.iterdir():
        if old.name != ".git":
            shutil.rmtree(old) if old.is_dir() and not old.is_symlink() else old.unlink()
    for name, content in files.items():
        path = repo.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, tuple) and content[0] == "link":
            os.symlink(content[1], path)
        elif isinstance(content, tuple):
            path.write_text(content[1])
            path.chmod(0o755)
        else:
            path.write_text(content)
    repo.git("add", "-A")
    return repo.git("write-tree")


def archive_hash(repo: Repo, rev: str, scratch: Path) -> str:
    """What fetchFromGitHub pins for ``rev``: GitHub serves ``git archive`` of it, fetchzip
    unpacks it and strips the top directory."""
    out = scratch / f"archive-{rev.replace('/', '_')}"
    out.mkdir(parents=True)
    data = run(["git", "archive", "--format=tar", "--prefix=top/", rev], env=repo.env, cwd=repo.path).stdout
    run(["tar", "-x", "-C", str(out)], input=data)
    return reference_nar_hash(out / "top")


def _clone_bare(source: Path, dest: Path, env: dict) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    run(["git", "clone", "-q", "--bare", str(source), str(dest)], env=env)


def _detach_sign(gpg: Gpg, fpr: str, path: Path, out: Path, *, armor: bool) -> None:
    args = ["--local-user", f"{fpr}!", "--detach-sign", "--output", str(out)]
    if armor:
        args.insert(0, "--armor")
    gpg.gpg(*args, str(path), at=WHEN)


def build(root: Path) -> UpstreamWorld:
    mirror = root / "mirror"
    gpg = Gpg(root / "gnupg", root)
    pgp = {
        "upstream": gpg.gen_key("Upstream Release <release@upstream.example>", "ed25519", "sign"),
        "rotated": gpg.gen_key("Upstream Rotated <rotated@upstream.example>", "ed25519", "sign"),
        "stranger": gpg.gen_key("Stranger <stranger@elsewhere.example>", "ed25519", "sign"),
    }
    certs = {name: gpg.export(fpr, root / "certs" / f"{name}.asc") for name, fpr in pgp.items()}
    ssh = {
        "upstream": SshKey.generate(root / "ssh", "upstream", "ed25519"),
        "stranger": SshKey.generate(root / "ssh", "stranger", "ed25519"),
    }
    repo = Repo(mirror / "github.com" / "owner" / "repo", root)
    w = UpstreamWorld(root, mirror, gpg, pgp, certs, ssh, repo)
    scratch = root / "scratch"

    # -- the upstream repository --------------------------------------------------------
    tree1 = _write_tree(repo, {
        "README.md": "hello upstream\n",
        "src/lib/util.txt": "nested\n",
        "bin/run.sh": ("exec", "#!/bin/sh\necho run\n"),
        "link": ("link", "README.md"),
        "empty.txt": "",
    })
    w.commits["c1"] = repo.commit("release 1.0 (unsigned commit)", tree=tree1, when=WHEN)
    tree2 = _write_tree(repo, {
        "README.md": "hello upstream, again\n",
        "src/lib/util.txt": "nested\n",
        "bin/run.sh": ("exec", "#!/bin/sh\necho run 1.1\n"),
        "link": ("link", "README.md"),
        "empty.txt": "",
    })
    w.commits["c2"] = repo.commit("release 1.1 (signed commit)", tree=tree2, parents=[w.commits["c1"]],
                                  signer=PgpSigner(gpg, pgp["upstream"]), when=WHEN)
    tree3 = _write_tree(repo, {"README.md": "a stranger's commit\n"})
    w.commits["c3"] = repo.commit("stranger", tree=tree3, parents=[w.commits["c2"]],
                                  signer=PgpSigner(gpg, pgp["stranger"]), when=WHEN)
    repo.ref("refs/heads/main", w.commits["c3"])
    c1, c2 = w.commits["c1"], w.commits["c2"]
    w.tags["v1.0"] = _tag(repo, "v1.0", c1, gpg=gpg, fpr=pgp["upstream"])
    w.tags["v1.0-ssh"] = _tag(repo, "v1.0-ssh", c1, ssh=ssh["upstream"])
    w.tags["v1.0-unsigned"] = _tag(repo, "v1.0-unsigned", c1)
    w.tags["v1.0-light"] = _tag(repo, "v1.0-light", c1, annotated=False)
    w.tags["v1.0-stranger"] = _tag(repo, "v1.0-stranger", c1, gpg=gpg, fpr=pgp["stranger"])
    w.tags["v1.1"] = _tag(repo, "v1.1", c2, gpg=gpg, fpr=pgp["rotated"])
    w.tags["v1.2"] = _tag(repo, "v1.2", c2, gpg=gpg, fpr=pgp["rotated"])
    w.tags["v1.1-light"] = _tag(repo, "v1.1-light", c2, annotated=False)
    # a genuinely signed tag object, with one byte of its message changed afterwards
    signed = _tag(repo, "v1.0-tampered", c1, gpg=gpg, fpr=pgp["upstream"])
    raw = run(["git", "cat-file", "tag", signed], env=repo.env, cwd=repo.path).stdout
    assert b"Release v1.0-tampered" in raw and b"-----BEGIN PGP SIGNATURE-----" in raw
    tampered = raw.replace(b"Release v1.0-tampered", b"Release v1.O-tampered", 1)
    w.tags["v1.0-tampered"] = repo.git("hash-object", "-t", "tag", "-w", "--stdin", input=tampered)
    repo.ref("refs/tags/v1.0-tampered", w.tags["v1.0-tampered"])
    # replay: the ref of a new release points at the old release's signed tag object
    repo.ref("refs/tags/v1.1-replay", w.tags["v1.0"])
    w.tags["v1.1-replay"] = w.tags["v1.0"]

    for rev in ("v1.0", "v1.1"):
        w.hashes[rev] = archive_hash(repo, rev, scratch)

    # -- the same repository elsewhere in the mirror ------------------------------------------
    _clone_bare(repo.path, mirror / "github.com" / "owner" / "bare", repo.env)
    _clone_bare(repo.path, mirror / "gitlab.com" / "group" / "owner" / "glrepo", repo.env)
    _clone_bare(repo.path, mirror / "git.example.org" / "project", repo.env)

    # -- a tree whose GitHub archive is not its tree -----------------------------------------
    attrs = Repo(mirror / "github.com" / "owner" / "attrs", root)
    tree = _write_tree(attrs, {".gitattributes": "secret.txt export-ignore\n", "keep.txt": "kept\n",
                               "secret.txt": "left out of archives\n"})
    attrs_c = attrs.commit("attrs", tree=tree, when=WHEN)
    _tag(attrs, "v2.0", attrs_c, gpg=gpg, fpr=pgp["upstream"])
    w.hashes["attrs v2.0"] = archive_hash(attrs, "v2.0", scratch)

    # -- nested export-ignore rules, and a checkout (HEAD) whose own rules differ from the tag's ----------
    nested = Repo(mirror / "github.com" / "owner" / "attrs2", root)
    tree = _write_tree(nested, {
        ".gitattributes": "docs/** export-ignore\ntests export-ignore\n*.secret export-ignore\n",
        "keep.txt": "kept\n",
        "docs/guide.md": "left out, but docs/ stays as an empty directory\n",
        "tests/test.sh": ("exec", "#!/bin/sh\nexit 0\n"),
        "src/main.c": "int main(void) { return 0; }\n",
        "src/key.secret": "left out\n",
        "src/.gitattributes": "local.txt export-ignore\n",
        "src/local.txt": "left out by the nested rule\n",
    })
    nested_c = nested.commit("nested attributes", tree=tree, when=WHEN)
    _tag(nested, "v2.1", nested_c, gpg=gpg, fpr=pgp["upstream"])
    w.hashes["attrs2 v2.1"] = archive_hash(nested, "v2.1", scratch)
    later = _write_tree(nested, {".gitattributes": "keep.txt export-ignore\nsrc/** export-ignore\n",
                                 "keep.txt": "kept\n", "src/main.c": "int main(void) { return 1; }\n"})
    head = nested.commit("HEAD ignores other paths", tree=later, parents=[nested_c], when=WHEN)
    nested.ref("refs/heads/main", head)
    nested.git("symbolic-ref", "HEAD", "refs/heads/main")
    nested.git("reset", "-q", "--hard", "refs/heads/main")  # the mirror's index and work tree hold HEAD's rules
    assert "keep.txt export-ignore" in (nested.path / ".gitattributes").read_text()

    # -- a tree with a submodule (a gitlink: git archive leaves an empty directory) -----------------
    subs = Repo(mirror / "github.com" / "owner" / "subs", root)
    _write_tree(subs, {"main.c": "int main(void) { return 0; }\n",
                       ".gitmodules": '[submodule "vendor/lib"]\n\tpath = vendor/lib\n\turl = https://example.org/lib\n'})
    subs.git("update-index", "--add", "--cacheinfo", f"160000,{'a' * 40},vendor/lib")
    subs_c = subs.commit("with a submodule", tree=subs.git("write-tree"), when=WHEN)
    _tag(subs, "v3.0", subs_c, gpg=gpg, fpr=pgp["upstream"])
    w.hashes["subs v3.0"] = archive_hash(subs, "v3.0", scratch)

    # -- release files ------------------------------------------------------------------------------
    pkg = mirror / "releases.example.org" / "pkg"
    pkg.mkdir(parents=True)
    base = root / "pkg-1.0.tar.gz"
    run(["git", "archive", "--format=tar.gz", "--prefix=pkg-1.0/", "-o", str(base), "v1.0"], env=repo.env, cwd=repo.path)
    other = root / "other-bytes.txt"
    other.write_text("not the release\n")

    def release(name: str, src: Path = base) -> Path:
        dest = pkg / name
        shutil.copyfile(src, dest)
        w.files[name] = dest
        return dest

    good = release("good-1.0.tar.gz")
    _detach_sign(gpg, pgp["upstream"], good, pkg / "good-1.0.tar.gz.sig", armor=False)
    asc = release("asc-1.0.tar.gz")
    _detach_sign(gpg, pgp["upstream"], asc, pkg / "asc-1.0.tar.gz.asc", armor=True)
    release("bad-1.0.tar.gz")
    _detach_sign(gpg, pgp["upstream"], other, pkg / "bad-1.0.tar.gz.sig", armor=False)
    release("nosig-1.0.tar.gz")
    stranger = release("stranger-1.0.tar.gz")
    _detach_sign(gpg, pgp["stranger"], stranger, pkg / "stranger-1.0.tar.gz.asc", armor=True)
    for name, namespace in (("ssh-1.0.tar.gz", "file"), ("sshgit-1.0.tar.gz", "git")):
        path = release(name)
        run(["ssh-keygen", "-q", "-Y", "sign", "-f", str(ssh["upstream"].path), "-n", namespace, str(path)])
        assert (pkg / f"{name}.sig").is_file()
    # kernel.org style: the signature is over the uncompressed tar
    tar = root / "linux-1.0.tar"
    run(["git", "archive", "--format=tar", "--prefix=linux-1.0/", "-o", str(tar), "v1.0"], env=repo.env, cwd=repo.path)
    _detach_sign(gpg, pgp["upstream"], tar, pkg / "linux-1.0.tar.sign", armor=True)
    run(["xz", "-k", "-q", str(tar)])
    release("linux-1.0.tar.xz", Path(str(tar) + ".xz"))
    # a zip, for fetchzip
    zip_path = root / "pkg-1.0.zip"
    run(["git", "archive", "--format=zip", "--prefix=pkg-1.0/", "-o", str(zip_path), "v1.0"], env=repo.env, cwd=repo.path)
    release("pkg-1.0.zip", zip_path)
    _detach_sign(gpg, pgp["upstream"], pkg / "pkg-1.0.zip", pkg / "pkg-1.0.zip.asc", armor=True)

    # what fetchzip pins: unpacked with tar/unzip, the single top directory stripped
    unpacked = scratch / "fetchzip-tar"
    unpacked.mkdir(parents=True)
    run(["tar", "-xzf", str(good), "-C", str(unpacked)])
    w.zip_hashes["good-1.0.tar.gz"] = reference_nar_hash(unpacked / "pkg-1.0")
    unzipped = scratch / "fetchzip-zip"
    unzipped.mkdir(parents=True)
    run(["unzip", "-q", str(zip_path), "-d", str(unzipped)])
    w.zip_hashes["pkg-1.0.zip"] = reference_nar_hash(unzipped / "pkg-1.0")

    # an sdist on PyPI with its .asc
    sdist = mirror / "files.pythonhosted.org" / "packages" / "source" / "d" / "demo-pkg" / "demo_pkg-1.0.tar.gz"
    sdist.parent.mkdir(parents=True)
    shutil.copyfile(base, sdist)
    _detach_sign(gpg, pgp["upstream"], sdist, Path(str(sdist) + ".asc"), armor=True)
    w.files["sdist"] = sdist

    w.keyring = _keyring(root / "keyring", w)
    w.bare_keyring = root / "keyring-empty"
    w.bare_keyring.mkdir()
    (w.bare_keyring / "keyring.toml").write_text("version = 1\n")
    return w


def _keyring(directory: Path, w: UpstreamWorld) -> Path:
    """Written by hand, as a user would: several [[upstream]] entries may share one match."""
    keys = directory / "keys"
    keys.mkdir(parents=True)
    for name in ("upstream", "rotated"):
        shutil.copyfile(w.certs[name], keys / f"{name}.asc")
    ssh_line = w.ssh["upstream"].pub_line
    text = f'''version = 1

[[upstream]]
match = "github:owner/repo"
openpgp = "keys/upstream.asc"

[[upstream]]
match = "github:owner/repo"
openpgp = "keys/rotated.asc"

[[upstream]]
match = "github:owner/repo"
ssh = "{ssh_line}"

[[upstream]]
match = "github:Owner/Bare"
openpgp = "keys/upstream.asc"

[[upstream]]
match = "github:owner/attrs"
openpgp = "keys/upstream.asc"

[[upstream]]
match = "github:owner/attrs2"
openpgp = "keys/upstream.asc"

[[upstream]]
match = "github:owner/subs"
openpgp = "keys/upstream.asc"

[[upstream]]
match = "https://gitlab.com/group/owner/glrepo"
openpgp = "keys/upstream.asc"

[[upstream]]
match = "https://git.example.org/project"
openpgp = "keys/upstream.asc"

[[upstream]]
match = "{RELEASES}"
openpgp = "keys/upstream.asc"

[[upstream]]
match = "{RELEASES}"
ssh = "{ssh_line}"

[[upstream]]
match = "pypi:Demo_Pkg"
openpgp = "keys/upstream.asc"
'''
    (directory / "keyring.toml").write_text(text)
    return directory


def hostile_tar(path: Path, kind: str) -> None:
    """Archives no honest release is: a member climbing out, an absolute path, a write through a symlink."""
    import io
    import tarfile

    with tarfile.open(path, "w:gz") as tar:
        def add(name: str, data: bytes = b"x\n", *, link: str | None = None) -> None:
            info = tarfile.TarInfo(name)
            if link is not None:
                info.type = tarfile.SYMTYPE
                info.linkname = link
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))

        if kind == "dotdot":
            add("top/ok.txt")
            add("top/../../escaped.txt")
        elif kind == "absolute":
            add("/tmp/commitguard-absolute-escape.txt")
        elif kind == "through-link":
            add("top/out", link="../..")
            add("top/out/escaped-through-link.txt")
        else:
            raise ValueError(kind)


__all__ = ["UpstreamWorld", "build", "flat_sri", "nix_hash", "nix_hash_available", "reference_nar_hash", "require_nix_hash",
           "hostile_tar", "RELEASES", "PYPI_URL", "WHEN"]
