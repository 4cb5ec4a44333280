#!/usr/bin/env python3
"""Build a synthetic, signed, nixpkgs-style git repository for benchmarks.

    python bench/generate.py OUTDIR [--commits 100000] [--packages 10000] [--rsa-bits 4096]

Defaults: 100,000 commits and 10,000 package expressions in the by-name
layout (``pkgs/by-name/XX/NAME/package.nix``), about nixpkgs' shape.

Writes, under OUTDIR:

  repo/             the git repository (branch ``master``, packed, with a
                    commit-graph, working tree checked out)
  keyring/          a commitguard keyring (keyring.toml + keys/*.asc)
  allowed_signers   for ``git -c gpg.ssh.allowedSignersFile=...``
  gnupg/            a GNUPGHOME with every OpenPGP cert imported and
                    ultimately trusted, so ``git log --format=%G?`` says G
  secrets/          the throwaway private keys (OpenSSH and OpenPGP TSKs),
                    reused by bench/run.py to add fresh signed commits
  meta.json         parameters, expected per-status counts, timings

Signature mix, as fractions of all commits: 55% SSH ed25519, 20% OpenPGP
ed25519, 5% OpenPGP RSA (4096-bit by default, ``--rsa-bits``), 15% merge
commits of pull requests signed by an OpenPGP key standing for GitHub's
web-flow key, 5% unsigned.

The forge key is ed25519, although GitHub's real web-flow key is RSA 4096.
An ed25519 signature is cheaper to *verify*, so this makes the
cryptographic floor of bench/floor.py lower than it would be on real
nixpkgs, and every comparison with that floor conservative (harder for
commitguard). (Making them RSA would now cost 1.5 ms a merge to generate.)

Speed (bench/history.py, bench/fastpack.py, bench/fast_sign.py): git 2.39's
fast-import takes no signed commits, so the objects are written straight
into two packfiles by two processes, one per core. A planner process picks
every change from the seeded RNG (the same calls, in the same order, as the
pygit2 generator before it: same seed, same trees, topology, people and
messages) and writes blobs and trees, each changed tree a splice of its
previous version and stored as a delta against it; the signing process
turns the planner's templates into signed commits. Signing is in-process:
SSHSIG with ``cryptography``, OpenPGP ed25519 with pysequoia, OpenPGP RSA
with OpenSSL through ``cryptography`` over a packet built here (2.5 times
faster than Sequoia's RSA). ``git index-pack`` indexes both packs, computing
every object id itself (the commits' pack with ``--strict``, which checks
that every commit's tree and parents exist). About 35 s for 100,000 commits
on 2 cores, most of it the fixed cost of making the RSA keys.

Then a sample of commits of each kind (``--validate``, 20 by default) is
checked with the real tools: ``git log --format=%G?`` and ``git
verify-commit`` with gpg and ssh-keygen; generation aborts if any disagrees.

This module is also imported by bench/run.py: see ``load_signers``,
``make_commit``, ``ssh_sign``, ``openpgp_sign``, ``package_nix``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import multiprocessing
import os
import random
import shutil
import struct
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pygit2
import pysequoia
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fast_sign  # noqa: E402
import history  # noqa: E402

# Fractions of all commits (the rest, 55%, is SSH ed25519).
SHARE_PGP_ED = 0.20
SHARE_PGP_RSA = 0.05
SHARE_FORGE_MERGE = 0.15
SHARE_UNSIGNED = 0.05

BRANCH = "master"
FORGE_NAME = "GitHub"
FORGE_EMAIL = "noreply@github.com"
ORIGIN_URL = "https://example.org/bench/nixpkgs.git"

# Kinds of commit, also the keys of meta.json's "kinds" counts.
K_SSH, K_PGP_ED, K_PGP_RSA, K_FORGE, K_UNSIGNED = "ssh", "openpgp-ed25519", "openpgp-rsa", "forge", "unsigned"
KINDS = (K_SSH, K_PGP_ED, K_PGP_RSA, K_FORGE, K_UNSIGNED)


# --------------------------------------------------------------------------
# Signing
# --------------------------------------------------------------------------


def _sshstr(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def ssh_public_blob(key: Ed25519PrivateKey) -> bytes:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _sshstr(b"ssh-ed25519") + _sshstr(raw)


def ssh_public_line(key: Ed25519PrivateKey, comment: str = "") -> str:
    line = "ssh-ed25519 " + base64.b64encode(ssh_public_blob(key)).decode()
    return f"{line} {comment}" if comment else line


def ssh_fingerprint(key: Ed25519PrivateKey) -> str:
    digest = hashlib.sha256(ssh_public_blob(key)).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def ssh_sign(key: Ed25519PrivateKey, payload: bytes, namespace: str = "git") -> str:
    """An armored SSHSIG signature, byte-for-byte what ``ssh-keygen -Y sign``
    makes with an ed25519 key and the default sha512 (PROTOCOL.sshsig)."""
    ns = namespace.encode()
    signed = (
        b"SSHSIG" + _sshstr(ns) + _sshstr(b"") + _sshstr(b"sha512") + _sshstr(hashlib.sha512(payload).digest())
    )
    sig_blob = _sshstr(b"ssh-ed25519") + _sshstr(key.sign(signed))
    blob = (
        b"SSHSIG"
        + struct.pack(">I", 1)
        + _sshstr(ssh_public_blob(key))
        + _sshstr(ns)
        + _sshstr(b"")
        + _sshstr(b"sha512")
        + _sshstr(sig_blob)
    )
    b64 = base64.b64encode(blob).decode()
    lines = [b64[i : i + 70] for i in range(0, len(b64), 70)]
    return "-----BEGIN SSH SIGNATURE-----\n" + "\n".join(lines) + "\n-----END SSH SIGNATURE-----\n"


def openpgp_sign(signer, payload: bytes) -> str:
    return pysequoia.sign(signer, payload, mode=pysequoia.SignatureMode.DETACHED).decode()


# --------------------------------------------------------------------------
# Commit objects
# --------------------------------------------------------------------------


def make_commit(
    odb,
    tree: str,
    parents: list[str],
    author: str,
    committer: str,
    message: str,
    sign=None,
) -> str:
    """Write a commit object and return its hex id.

    ``author``/``committer`` are full ident lines ("Name <email> 1700000000
    +0100"). ``sign`` is a callable payload -> armored signature, or None.
    The signature goes in a ``gpgsig`` header right after the committer
    line, continuation lines prefixed by one space, as git writes it; the
    signed payload is the commit without that header.
    """
    head = f"tree {tree}\n" + "".join(f"parent {p}\n" for p in parents)
    head += f"author {author}\ncommitter {committer}\n"
    body = "\n" + message
    if sign is None:
        data = (head + body).encode()
    else:
        sig = sign((head + body).encode())
        gpgsig = "gpgsig " + sig.rstrip("\n").replace("\n", "\n ") + "\n"
        data = (head + gpgsig + body).encode()
    return str(odb.write(pygit2.enums.ObjectType.COMMIT, data))


def ident(name: str, email: str, when: int, tz: str) -> str:
    return f"{name} <{email}> {when} {tz}"


# --------------------------------------------------------------------------
# Package expressions
# --------------------------------------------------------------------------

_SYLL = (
    "ba be bi bo bu ca ce co cu da de di do du fa fe fi fo ga ge go gu ha he hi ho ka ke ki ko ku "
    "la le li lo lu ma me mi mo mu na ne ni no nu pa pe pi po pu ra re ri ro ru sa se si so su "
    "ta te ti to tu va ve vi vo wa we xa xe ya yo za ze zo "
    "al an ar el en er il in ir ol on or ul un ur ex ox ix ab ob"
).split()
_SUFFIX = ["", "", "", "", "", "", "-cli", "-utils", "d", "fs", "ctl", "-server", "-gtk", "-qt", "lib", "-tools", "x"]
_PREFIX = ["", "", "", "", "", "", "", "", "lib", "py", "go-", "rust-", "xfce4-", "gnome-", "kde-", "perl-"]
_DESC = [
    "Command-line tool for working with {n} archives",
    "Fast and lightweight {n} implementation",
    "Library for parsing and generating {n} files",
    "Terminal user interface for {n}",
    "Daemon that monitors {n} events",
    "Simple, portable {n} utility",
    "Bindings to the {n} C library",
    "Modern replacement for classic {n}",
]
_LICENSES = ["mit", "asl20", "gpl3Plus", "gpl2Only", "bsd3", "mpl20", "lgpl21Plus", "isc"]


def package_names(rng: random.Random, count: int) -> list[str]:
    names: set[str] = set()
    out: list[str] = []
    while len(out) < count:
        base = "".join(rng.choice(_SYLL) for _ in range(rng.choice((2, 2, 3, 3, 4))))
        name = rng.choice(_PREFIX) + base + rng.choice(_SUFFIX)
        if name not in names:
            names.add(name)
            out.append(name)
    return out


def shard(name: str) -> str:
    return name[:2].lower()


def package_path(name: str) -> list[str]:
    return ["pkgs", "by-name", shard(name), name, "package.nix"]


def package_nix(name: str, version: str, url_template: str, maintainers: list[str], desc: str, lic: str) -> str:
    h = hashlib.sha256(f"{name}-{version}".encode()).digest()
    url = url_template.replace("@NAME@", name)
    return (
        "{\n"
        "  lib,\n"
        "  stdenv,\n"
        "  fetchurl,\n"
        "}:\n"
        "\n"
        "stdenv.mkDerivation (finalAttrs: {\n"
        f'  pname = "{name}";\n'
        f'  version = "{version}";\n'
        "\n"
        "  src = fetchurl {\n"
        f'    url = "{url}";\n'
        f'    hash = "sha256-{base64.b64encode(h).decode()}";\n'
        "  };\n"
        "\n"
        "  meta = {\n"
        f'    description = "{desc}";\n'
        f'    homepage = "https://{name}.example.org";\n'
        f"    license = lib.licenses.{lic};\n"
        f"    maintainers = with lib.maintainers; [ {' '.join(maintainers)} ];\n"
        "  };\n"
        "})\n"
    )


_URLS = [
    "https://github.com/@OWNER@/@NAME@/archive/refs/tags/v${finalAttrs.version}.tar.gz",
    "https://ftp.gnu.org/gnu/@NAME@/@NAME@-${finalAttrs.version}.tar.gz",
    "mirror://sourceforge/@NAME@/@NAME@-${finalAttrs.version}.tar.xz",
    "https://download.example.org/@NAME@/@NAME@-${finalAttrs.version}.tar.gz",
    "https://files.pythonhosted.org/packages/source/@N1@/@NAME@/@NAME@-${finalAttrs.version}.tar.gz",
]


@dataclass
class Package:
    name: str
    version: tuple[int, int, int]
    url: str
    maintainers: list[str]
    desc: str
    lic: str

    @property
    def vstr(self) -> str:
        return "%d.%d.%d" % self.version

    def render(self) -> str:
        return package_nix(self.name, self.vstr, self.url, self.maintainers, self.desc, self.lic)


def bump(rng: random.Random, v: tuple[int, int, int]) -> tuple[int, int, int]:
    r = rng.random()
    if r < 0.70:
        return (v[0], v[1], v[2] + 1)
    if r < 0.95:
        return (v[0], v[1] + 1, 0)
    return (v[0] + 1, 0, 0)


# --------------------------------------------------------------------------
# People and keys
# --------------------------------------------------------------------------

_FIRST = (
    "alice bob carol dave erin frank grace heidi ivan judy mallory niaj olivia peggy rupert sybil "
    "trent victor walter yolanda zoe aaron bella cyril dora emil fiona gustav hana igor jana kofi "
    "lena marek nadia oskar priya quentin rosa samir tomas ursula vera wen xiomara yusuf zeynep "
    "anders birgit chen dmitri elif farid gosia hiro"
).split()
_LAST = (
    "Example Smith Müller Dubois Rossi Kowalski Tanaka Okafor Silva Novak Jensen Ivanova Haddad "
    "Nakamura Larsen Fischer Moreau Costa Nguyen Schmidt Bauer Garcia Wang Kim Patel Haas Lindqvist"
).split()


@dataclass
class Person:
    id: str
    name: str
    email: str
    tz: str
    ssh: list[Ed25519PrivateKey] = field(default_factory=list)
    pgp: object = None  # pysequoia.Tsk
    pgp_kind: str | None = None  # K_PGP_ED / K_PGP_RSA
    weight: float = 1.0


def make_people(rng: random.Random, rsa_bits: int, n_ssh=40, n_pgp_ed=14, n_pgp_rsa=2, n_both=4):
    tzs = ["+0000", "+0100", "+0200", "-0500", "-0800", "+0530", "+0900", "+0800", "-0300", "+1000"]
    handles = list(_FIRST)
    rng.shuffle(handles)
    total = n_ssh + n_pgp_ed + n_pgp_rsa
    people: list[Person] = []
    rsa: list[tuple[Person, str]] = []
    for i in range(total):
        h = handles[i % len(handles)] + ("" if i < len(handles) else str(i))
        name = f"{h.capitalize()} {rng.choice(_LAST)}"
        email = f"{h}@example.org"
        p = Person(id=h, name=name, email=email, tz=rng.choice(tzs), weight=1.0 / (1 + i % 17) ** 0.8)
        uid = f"{name} <{email}>"
        if i < n_ssh:
            p.ssh.append(Ed25519PrivateKey.generate())
            if i % 9 == 0:  # a second machine
                p.ssh.append(Ed25519PrivateKey.generate())
        elif i < n_ssh + n_pgp_ed:
            p.pgp = pysequoia.Tsk.generate(uid, profile=pysequoia.Profile.RFC4880)
            p.pgp_kind = K_PGP_ED
            if i - n_ssh < n_both:  # also has an SSH key, not used for signing here
                p.ssh.append(Ed25519PrivateKey.generate())
        else:
            rsa.append((p, uid))  # made below, in parallel
            p.pgp_kind = K_PGP_RSA
        people.append(p)
    forge = pysequoia.Tsk.generate("GitHub (web-flow commit signing) <noreply@github.com>", profile=pysequoia.Profile.RFC4880)
    # three RSA keys a person (primary and subkeys), a couple of seconds each at 4096 bits: on every core
    with multiprocessing.get_context("fork").Pool(min(len(rsa), os.cpu_count() or 1) or 1) as pool:
        made = pool.starmap(_rsa_tsk, [(uid, rsa_bits) for _, uid in rsa])
    for (p, _), tsk in zip(rsa, made):
        p.pgp = pysequoia.Tsk.from_bytes(tsk)
    return people, forge


def _rsa_tsk(uid: str, rsa_bits: int) -> bytes:
    suite = {2048: pysequoia.CipherSuite.RSA2k, 3072: pysequoia.CipherSuite.RSA3k, 4096: pysequoia.CipherSuite.RSA4k}
    return bytes(pysequoia.Tsk.generate(uid, profile=pysequoia.Profile.RFC4880, cipher_suite=suite[rsa_bits]))


def toml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def write_keys(out: Path, people: list[Person], forge, rsa_bits: int) -> None:
    kr = out / "keyring"
    (kr / "keys").mkdir(parents=True)
    sec = out / "secrets"
    (sec / "ssh").mkdir(parents=True)
    (sec / "openpgp").mkdir(parents=True)
    os.chmod(sec, 0o700)
    lines = [
        "# Generated by bench/generate.py: throwaway keys for benchmarks only.",
        "version = 1",
        "",
        "[policy]",
        'forge = "accept"',
        "",
    ]
    allowed = []
    secrets_index = {"people": [], "forge": "openpgp/forge.key"}
    for p in people:
        lines += [
            "[[person]]",
            f"id = {toml_str(p.id)}",
            f"name = {toml_str(p.name)}",
            f"emails = [{toml_str(p.email)}]",
            f"github = {toml_str(p.id)}",
            'roles = ["committer"]',
            "",
        ]
        entry = {"id": p.id, "name": p.name, "email": p.email, "tz": p.tz, "ssh": [], "openpgp": None}
        for n, k in enumerate(p.ssh):
            pub = ssh_public_line(k, f"{p.id}@machine{n}")
            lines += ["[[person.key]]", f"ssh = {toml_str(pub)}", ""]
            allowed.append(f'{p.email} namespaces="git" {pub}')
            f = sec / "ssh" / f"{p.id}-{n}"
            f.write_bytes(
                k.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
                )
            )
            os.chmod(f, 0o600)
            (sec / "ssh" / f"{p.id}-{n}.pub").write_text(pub + "\n")
            entry["ssh"].append(f"ssh/{p.id}-{n}")
        if p.pgp is not None:
            (kr / "keys" / f"{p.id}.asc").write_text(str(p.pgp.extract_certificate()))
            lines += ["[[person.key]]", f'openpgp = "keys/{p.id}.asc"', ""]
            (sec / "openpgp" / f"{p.id}.key").write_text(str(p.pgp))
            entry["openpgp"] = f"openpgp/{p.id}.key"
            entry["openpgp_kind"] = p.pgp_kind
        secrets_index["people"].append(entry)
    (kr / "keys" / "forge.asc").write_text(str(forge.extract_certificate()))
    (sec / "openpgp" / "forge.key").write_text(str(forge))
    lines += ["[[forge]]", 'id = "github"', 'openpgp = "keys/forge.asc"', ""]
    text = "\n".join(lines)
    tomllib.loads(text)  # must parse
    (kr / "keyring.toml").write_text(text)
    (out / "allowed_signers").write_text("\n".join(allowed) + "\n")
    (sec / "index.json").write_text(json.dumps(secrets_index, indent=1, ensure_ascii=False))


def setup_gnupg(out: Path, people: list[Person], forge) -> Path:
    home = out / "gnupg"
    home.mkdir(mode=0o700)
    env = dict(os.environ, GNUPGHOME=str(home))
    certs = [out / "keyring" / "keys" / f"{p.id}.asc" for p in people if p.pgp is not None]
    certs.append(out / "keyring" / "keys" / "forge.asc")
    run(["gpg", "--batch", "--quiet", "--import", *map(str, certs)], env=env)
    fprs = [p.pgp.extract_certificate().fingerprint.upper() for p in people if p.pgp is not None]
    fprs.append(forge.extract_certificate().fingerprint.upper())
    subprocess.run(
        ["gpg", "--batch", "--quiet", "--import-ownertrust"],
        input="".join(f"{f}:6:\n" for f in fprs).encode(),
        env=env,
        check=True,
        capture_output=True,
    )
    run(["gpg", "--batch", "--quiet", "--check-trustdb"], env=env)
    # no agent is needed to verify; make sure none is left behind
    subprocess.run(["gpgconf", "--kill", "all"], env=env, capture_output=True)
    return home


def run(cmd, **kw) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", **kw)
    if p.returncode != 0:
        sys.exit(f"generate.py: {' '.join(cmd)} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return p


# --------------------------------------------------------------------------
# Loading the signers back (for bench/run.py)
# --------------------------------------------------------------------------


@dataclass
class Signers:
    people: list[dict]
    ssh: dict[str, list[Ed25519PrivateKey]]
    pgp: dict[str, object]
    forge: object


def load_signers(out: Path) -> Signers:
    sec = Path(out) / "secrets"
    idx = json.loads((sec / "index.json").read_text())
    ssh, pgp = {}, {}
    for e in idx["people"]:
        ssh[e["id"]] = [serialization.load_ssh_private_key((sec / f).read_bytes(), None) for f in e["ssh"]]
        if e["openpgp"]:
            pgp[e["id"]] = pysequoia.Tsk.from_file(str(sec / e["openpgp"]))
    forge = pysequoia.Tsk.from_file(str(sec / idx["forge"]))
    return Signers(idx["people"], ssh, pgp, forge)


# --------------------------------------------------------------------------
# History
# --------------------------------------------------------------------------


class TreeWriter:
    """Sets one path in a tree, rebuilding only the trees along that path."""

    def __init__(self, repo: pygit2.Repository):
        self.repo = repo

    def set(self, tree: str | None, parts: list[str], blob: str) -> str:
        repo = self.repo
        tb = repo.TreeBuilder(repo[tree]) if tree else repo.TreeBuilder()
        if len(parts) == 1:
            tb.insert(parts[0], pygit2.Oid(hex=blob), pygit2.enums.FileMode.BLOB)
        else:
            child = tb.get(parts[0])
            sub = self.set(str(child.id) if child is not None else None, parts[1:], blob)
            tb.insert(parts[0], pygit2.Oid(hex=sub), pygit2.enums.FileMode.TREE)
        return str(tb.write())


def plan_counts(n: int) -> dict[str, int]:
    c = {
        K_FORGE: round(n * SHARE_FORGE_MERGE),
        K_PGP_ED: round(n * SHARE_PGP_ED),
        K_PGP_RSA: round(n * SHARE_PGP_RSA),
        K_UNSIGNED: round(n * SHARE_UNSIGNED),
    }
    c[K_SSH] = n - sum(c.values())
    return c


def signer_table(people: list[Person], forge) -> tuple[list, dict, dict, int]:
    """The in-process signers (bench/fast_sign.py), numbered for the planner."""
    table: list = []
    ssh_ids: dict = {}
    pgp_ids: dict = {}
    for i, p in enumerate(people):
        for k, key in enumerate(p.ssh):
            ssh_ids[(i, k)] = len(table)
            table.append(fast_sign.SshSigner(key))
        if p.pgp is not None:
            pgp_ids[i] = len(table)
            rsa = p.pgp_kind == K_PGP_RSA
            table.append(fast_sign.OpenSslRsaSigner(p.pgp) if rsa else fast_sign.SequoiaSigner(p.pgp))
    table.append(fast_sign.SequoiaSigner(forge))
    return table, ssh_ids, pgp_ids, len(table) - 1


def generate(out: Path, n_commits: int, n_packages: int, seed: int, rsa_bits: int, validate: int) -> dict:
    rng = random.Random(seed)
    t0 = time.perf_counter()
    timings = {}

    people, forge = make_people(rng, rsa_bits)
    write_keys(out, people, forge, rsa_bits)
    setup_gnupg(out, people, forge)
    table, ssh_ids, pgp_ids, forge_id = signer_table(people, forge)
    timings["keys"] = time.perf_counter() - t0

    gitdir = out / "repo"
    run(["git", "init", "-q", "-b", BRANCH, str(gitdir)])
    counts = plan_counts(n_commits)
    if n_packages > n_commits - counts[K_FORGE]:
        sys.exit(
            f"generate.py: --packages {n_packages} needs at least that many non-merge commits "
            f"(have {n_commits - counts[K_FORGE]})"
        )
    plan = history.Plan(
        n_commits=n_commits,
        n_packages=n_packages,
        seed=seed,
        counts=counts,
        people=people,
        ssh_ids=ssh_ids,
        pgp_ids=pgp_ids,
        forge_id=forge_id,
        forge_ident=(FORGE_NAME, FORGE_EMAIL),
        kinds=KINDS,
        content=sys.modules[__name__],
        rng_state=rng.getstate(),
    )
    t = time.perf_counter()
    built = history.build(plan, table, gitdir / ".git")
    head, by_kind_oids, stats = built["head"], built["by_kind"], built["stats"]
    timings["history"] = time.perf_counter() - t

    t = time.perf_counter()
    run(["git", "-C", str(gitdir), "update-ref", f"refs/heads/{BRANCH}", head])
    # as any clone has (bench/review.py and bench/checkpoint.py rely on it)
    run(["git", "-C", str(gitdir), "remote", "add", "origin", ORIGIN_URL])
    run(["git", "-C", str(gitdir), "commit-graph", "write", "--reachable"])
    run(["git", "-C", str(gitdir), "reset", "--hard", "-q", BRANCH])
    timings["refs_graph_checkout"] = time.perf_counter() - t

    t = time.perf_counter()
    pick = random.Random(seed + 2)
    samples = {k: pick.sample(v, min(validate, len(v))) for k, v in by_kind_oids.items()}
    validate_samples(out, samples)
    count = int(run(["git", "-C", str(gitdir), "rev-list", "--count", BRANCH]).stdout)
    if count != n_commits:
        sys.exit(f"generate.py: rev-list counts {count} commits, expected {n_commits}")
    timings["validate"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    return {
        "commits": n_commits,
        "packages": n_packages,
        "seed": seed,
        "rsa_bits": rsa_bits,
        "head": head,
        "branch": BRANCH,
        "kinds": counts,
        "expected_status": {
            "trusted": counts[K_SSH] + counts[K_PGP_ED] + counts[K_PGP_RSA],
            "forge": counts[K_FORGE],
            "unsigned": counts[K_UNSIGNED],
        },
        "people": len(people),
        "samples": samples,
        "timings": {k: round(v, 2) for k, v in timings.items()},
        "build": {k: round(v, 2) if isinstance(v, float) else v for k, v in stats.items()},
    }


def validate_samples(out: Path, samples: dict[str, list[str]]) -> None:
    """Check sample commits of every kind with the real git/gpg/ssh-keygen:
    ``%G?`` must say G (good, trusted) for signed and N for unsigned ones,
    and ``git verify-commit`` must accept every signed one."""
    env = dict(os.environ, GNUPGHOME=str(out / "gnupg"))
    base = ["git", "-C", str(out / "repo"), "-c", f"gpg.ssh.allowedSignersFile={out / 'allowed_signers'}"]
    bad = [f"{kind}: no sample commit to validate" for kind, oids in samples.items() if not oids]
    want = {oid: ("N" if kind == K_UNSIGNED else "G", kind) for kind, oids in samples.items() for oid in oids}
    g = subprocess.run(
        base + ["log", "--no-walk=unsorted", "--format=%H %G?", *want], env=env, capture_output=True, text=True, errors="replace"
    )
    got = dict(line.split() for line in g.stdout.splitlines() if line.strip())
    for oid, (letter, kind) in want.items():
        if got.get(oid) != letter:
            bad.append(f"{kind} {oid}: %G? is {got.get(oid)!r}, expected {letter}")
    signed = [oid for oid, (letter, _) in want.items() if letter == "G"]
    v = subprocess.run(base + ["verify-commit", *signed], env=env, capture_output=True, text=True, errors="replace")
    if v.returncode != 0:
        for oid in signed:  # find the culprits
            one = subprocess.run(base + ["verify-commit", oid], env=env, capture_output=True, text=True, errors="replace")
            if one.returncode != 0:
                bad.append(f"{want[oid][1]} {oid}: git verify-commit rc={one.returncode}: {one.stderr.strip()}")
        bad = bad or [f"git verify-commit failed on the samples: {v.stderr.strip()}"]
    unsigned = [oid for oid, (letter, _) in want.items() if letter == "N"]
    for oid in unsigned:
        one = subprocess.run(base + ["verify-commit", oid], env=env, capture_output=True, text=True, errors="replace")
        if one.returncode == 0:
            bad.append(f"{K_UNSIGNED} {oid}: git verify-commit accepts an unsigned commit")
    if bad:
        sys.exit("generate.py: validation with the real tools FAILED:\n" + "\n".join(bad))
    print(f"validated {len(want)} sample commits with git verify-commit / %G? (gpg, ssh-keygen): ok")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--commits", type=int, default=100000)
    ap.add_argument("--packages", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rsa-bits", type=int, choices=(2048, 3072, 4096), default=4096)
    ap.add_argument("--validate", type=int, default=20, help="sample commits per kind checked with git (default 20)")
    ap.add_argument("--force", action="store_true", help="delete an existing OUTDIR first")
    a = ap.parse_args(argv)
    out = a.outdir.resolve()
    if a.commits < 20 or a.packages < 1:
        ap.error("need --commits >= 20 and --packages >= 1")
    if out.exists() and any(out.iterdir()):
        if not a.force:
            ap.error(f"{out} exists and is not empty (use --force to replace it)")
        if not any((out / m).exists() for m in ("meta.json", "repo", "secrets")):
            ap.error(f"{out} does not look like a generate.py output; refusing to delete it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    meta = generate(out, a.commits, a.packages, a.seed, a.rsa_bits, a.validate)
    elapsed = time.perf_counter() - t0
    meta["generation_seconds"] = round(elapsed, 2)
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    k = meta["kinds"]
    print(
        f"generated {a.commits} commits ({a.packages} packages) in {out / 'repo'}\n"
        f"  ssh-ed25519 {k[K_SSH]}, openpgp-ed25519 {k[K_PGP_ED]}, openpgp-rsa{a.rsa_bits} {k[K_PGP_RSA]}, "
        f"forge merges {k[K_FORGE]} (forge key: openpgp ed25519), unsigned {k[K_UNSIGNED]}\n"
        f"  keyring {out / 'keyring'}, GNUPGHOME {out / 'gnupg'}, allowed signers {out / 'allowed_signers'}\n"
        f"  timings: " + ", ".join(f"{n} {v:.1f}s" for n, v in meta["timings"].items()) + "\n"
        f"generation time: {elapsed:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
