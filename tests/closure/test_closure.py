"""``annotate --closure`` on derivations made by the real ``nix-instantiate``.

A signed nixpkgs-style repository (ssh-keygen keys, ``git commit -S``) holds
four packages; upstream releases are files in an offline mirror signed with
``ssh-keygen -Y sign``. A self-contained ``default.nix`` (``builtins.derivation``
only, no nixpkgs) is instantiated into a store kept in a temporary directory
(``nix-instantiate --store DIR``; nothing is built, so no network): fixed-output
derivations whose ``outputHash`` is each fetcher's hash, spelled differently
than in the repository (hex for SRI, SRI for base32), and packages depending
on them::

    app-1.0 (unmatched)            depends on everything below
      hello-2.12                   hello, by name and source: trusted (alice)
        hello-2.12.tar.gz          hello, by hash (flat): trusted
      libfoo-1.0                   libfoo, by name and source: untrusted (mallory's commit)
        libfoo-1.0.tar.gz          libfoo, by hash (flat)
      ghpkg-0.3                    ghpkg, by name and source: untrusted (no upstream evidence)
        source                     ghpkg, by hash (recursive; base32 in the repository)
      libbar-2.0                   libbar, by name only: trusted (alice)
      orphan-1.0                   unmatched
        orphan-1.0.tar.gz          unmatched: no file writes its hash

The SBOMs are written as sbomnix and bombon write theirs (sbomnix: bom-ref
and ``nix:drv_path`` the .drv, no hashes; bombon: bom-ref the output path
without ``/nix/store/``, hashes and source hashes given) and validated with
cyclonedx-python-lib after enrichment.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures.approvals import GitRepo
from tests.fixtures.cli import CliResult, run_cli
from tests.fixtures.pins import RELEASES, keyring_text, package_nix
from tests.fixtures.tools import SshKey, run

pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("git", "ssh-keygen", "nix-instantiate", "nix-store", "nix-build", "nix")),
    reason="needs git, ssh-keygen and nix-instantiate",
)

HELLO = "pkgs/by-name/he/hello/package.nix"
LIBFOO = "pkgs/by-name/li/libfoo/package.nix"
LIBBAR = "pkgs/by-name/li/libbar/package.nix"
GHPKG = "pkgs/development/ghpkg/default.nix"
GH_DIGEST = hashlib.sha256(b"the NAR of ghpkg's tagged tree").digest()
ORPHAN_DIGEST = hashlib.sha256(b"nobody pins this").digest()
NIX32 = "0123456789abcdfghijklmnpqrsvwxyz"


def nix32(digest: bytes) -> str:
    """Nix's base32, written out here from its definition (not commitguard's)."""
    out = []
    for n in range((len(digest) * 8 - 1) // 5, -1, -1):
        b = n * 5
        i, j = divmod(b, 8)
        c = digest[i] >> j
        if i + 1 < len(digest):
            c |= digest[i + 1] << (8 - j)
        out.append(NIX32[c & 0x1F])
    return "".join(out)


def sri(digest: bytes) -> str:
    return "sha256-" + base64.b64encode(digest).decode()


def ghpkg_nix() -> str:
    return f"""{{ lib, stdenv, fetchFromGitHub }}:

stdenv.mkDerivation rec {{
  pname = "ghpkg";
  version = "0.3";

  src = fetchFromGitHub {{
    owner = "example";
    repo = "ghpkg";
    rev = "v${{version}}";
    sha256 = "{nix32(GH_DIGEST)}";
  }};
}}
"""


DEFAULT_NIX = """
let
  fod = name: mode: hash: builtins.derivation {
    inherit name;
    system = "x86_64-linux";
    builder = "/bin/sh";
    args = [ "-c" "exit 1" ];
    outputHashMode = mode;
    outputHashAlgo = "sha256";
    outputHash = hash;
  };
  pkg = name: inputs: builtins.derivation {
    inherit name;
    system = "x86_64-linux";
    builder = "/bin/sh";
    args = [ "-c" "echo ${builtins.concatStringsSep " " (map toString inputs)} > $out" ];
  };
  withScript = drv: builtins.derivation {
    inherit (drv) name system builder;
    args = [ ./build.sh ] ++ drv.args;  # a file of the checkout: an input source, not a derivation
  };
  helloSrc = fod "hello-2.12.tar.gz" "flat" "@HELLO@";
  hello = pkg "hello-2.12" [ helloSrc ];
  libfoo = pkg "libfoo-1.0" [ (fod "libfoo-1.0.tar.gz" "flat" "@LIBFOO@") ];
  ghpkg = pkg "ghpkg-0.3" [ (fod "source" "recursive" "@GHPKG@") ];
  libbar = pkg "libbar-2.0" [ ];
  orphan = pkg "orphan-1.0" [ (fod "orphan-1.0.tar.gz" "flat" "@ORPHAN@") ];
in {
  inherit hello libfoo ghpkg libbar orphan;
  app = withScript (pkg "app-1.0" [ hello libfoo ghpkg libbar orphan ]);
  # built for real: Nix's own builder needs no /bin/sh in the build sandbox, and the source
  # is put into the store beforehand (nix-store --add-fixed), so nothing is downloaded
  helloBuilt = builtins.derivation {
    name = "hello-2.12";
    system = "x86_64-linux";
    builder = "builtin:buildenv";
    derivations = [ "true" "5" "1" helloSrc ];
    manifest = "/dev/null";
  };
}
"""


@dataclass
class Fixture:
    root: Path
    repo: GitRepo
    ids: dict[str, str]
    mirror: Path
    keyring: Path
    store: Path
    drvs: dict[str, str]  # attribute -> .drv store path
    digests: dict[str, bytes]
    keys: dict[str, SshKey]

    def cli(self, *args) -> CliResult:
        return run_cli([str(a) for a in args], scratch=self.root / "scratch")

    def closure(self, target, *extra, fmt: str = "json", cache: Path | None = None) -> CliResult:
        args = ["annotate", "--closure", target, "--store", self.store, "--repo", self.repo.path, "--keyring",
                self.keyring, "--trust-root", self.ids["c0"], "--upstream-mirror", self.mirror, "--format", fmt]
        args += ["--cache", cache] if cache else ["--no-cache"]
        return self.cli(*args, *extra)

    def physical(self, store_path: str) -> Path:
        return Path(str(self.store) + store_path)


def instantiate(root: Path, store: Path, digests: dict[str, bytes]) -> dict[str, str]:
    text = (DEFAULT_NIX.replace("@HELLO@", digests["hello"].hex())  # hex where the repository has SRI
            .replace("@LIBFOO@", sri(digests["libfoo"]))
            .replace("@GHPKG@", sri(GH_DIGEST))  # SRI where the repository has base32
            .replace("@ORPHAN@", ORPHAN_DIGEST.hex()))
    (root / "closure").mkdir()
    (root / "closure" / "default.nix").write_text(text)
    (root / "closure" / "build.sh").write_text("exit 1\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(root), "NIX_PATH": ""}
    drvs = {}
    for attribute in ("app", "hello", "libfoo", "ghpkg", "libbar", "orphan"):
        done = subprocess.run(["nix-instantiate", "--store", str(store), "-A", attribute, str(root / "closure")],
                              capture_output=True, text=True, env=env, check=True)
        drvs[attribute] = done.stdout.strip()
    return drvs


def build(root: Path) -> Fixture:
    keys = {n: SshKey.generate(root / "ssh", n, "ed25519") for n in ("alice", "mallory", "upstream")}
    mirror = root / "mirror"
    digests: dict[str, bytes] = {}

    def release(name: str, version: str) -> str:
        folder = mirror / "releases.example.org" / name
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}-{version}.tar.gz"
        path.write_bytes(f"{name} {version} release tarball\n".encode() * 40)
        run(["ssh-keygen", "-q", "-Y", "sign", "-f", str(keys["upstream"].path), "-n", "file", str(path)])
        digests[name] = hashlib.sha256(path.read_bytes()).digest()
        return sri(digests[name])

    keyring = root / "keyring"
    keyring.mkdir()
    (keyring / "keyring.toml").write_text(keyring_text(keys, bob=False))
    r = GitRepo(root / "repo", root)
    ids = {}
    ids["c0"] = r.commit("init", {"README.md": "# packages\n", HELLO: package_nix("hello", "2.12", release("hello", "2.12")),
                                  LIBFOO: package_nix("libfoo", "0.9", release("libfoo", "0.9")),
                                  LIBBAR: package_nix("libbar", "2.0", release("libbar", "2.0")),
                                  GHPKG: ghpkg_nix()}, signer=keys["alice"])
    ids["c1"] = r.commit("libfoo: 0.9 -> 1.0", {LIBFOO: package_nix("libfoo", "1.0", release("libfoo", "1.0"))},
                         signer=keys["mallory"])
    store = root / "store"
    drvs = instantiate(root, store, digests)
    return Fixture(root, r, ids, mirror, keyring, store, drvs, digests, keys)


@pytest.fixture(scope="module")
def fx(tmp_path_factory) -> Fixture:
    return build(tmp_path_factory.mktemp("closure"))


def by_name(data: dict) -> dict[str, dict]:
    return {d["name"]: d for d in data["derivations"]}


def chain(d: dict) -> list[tuple]:
    return [(link["role"], link.get("commit"), link["signer"], link.get("status"), link["trusted"]) for link in d["chain"]]


EXPECTED = {
    # name: (match, package, trusted)
    "app-1.0": (None, None, False),
    "hello-2.12": ("name", HELLO, True),
    "hello-2.12.tar.gz": ("hash", HELLO, True),
    "libfoo-1.0": ("name", LIBFOO, False),
    "libfoo-1.0.tar.gz": ("hash", LIBFOO, False),
    "ghpkg-0.3": ("name", GHPKG, False),
    "source": ("hash", GHPKG, False),
    "libbar-2.0": ("name", LIBBAR, True),
    "orphan-1.0": (None, None, False),
    "orphan-1.0.tar.gz": (None, None, False),
}


@pytest.fixture(scope="module")
def whole(fx) -> dict:
    res = fx.closure(fx.drvs["app"])
    assert res.code == 1, res.describe()
    return res.json


def test_every_derivation_of_the_closure_is_matched(fx, whole):
    found = {name: (d["match"], d["package"], d["trusted"]) for name, d in by_name(whole).items()}
    assert found == EXPECTED
    assert whole["ok"] is False and whole["rev"] == fx.ids["c1"] and whole["trust_root"] == fx.ids["c0"]
    assert by_name(whole)["app-1.0"]["drv"] == fx.drvs["app"]
    assert whole["target"] == {"kind": "drv", "source": fx.drvs["app"], "producer": None}
    assert whole["warnings"] == ["1 file(s) the derivations were given (inputSrcs: builder scripts, local patches) "
                                 "are not derivations: not annotated"]


def test_matches_say_how_they_were_made(fx, whole):
    d = by_name(whole)
    hello_src = d["hello-2.12.tar.gz"]
    assert hello_src["output_hash"] == sri(fx.digests["hello"])
    assert hello_src["match_detail"] == (f"outputHash {sri(fx.digests['hello'])} (flat) is the hash of fetchurl at "
                                         f"line 7 of {HELLO}".replace("of fetchurl at line 7 of", "of fetchurl at line 7 in"))
    assert d["source"]["match_detail"] == f"outputHash {sri(GH_DIGEST)} (recursive) is the hash of fetchFromGitHub at line 7 in {GHPKG}"
    assert d["hello-2.12"]["match_detail"] == (f"pname-version hello-2.12 and its input hello-2.12.tar.gz "
                                               f"({sri(fx.digests['hello'])}) are {HELLO}'s")
    assert d["libbar-2.0"]["match_detail"] == "pname-version libbar-2.0 only (no source of it was matched by hash)"
    assert d["orphan-1.0.tar.gz"]["match_detail"] == f"no file at {fx.ids['c1'][:12]} writes outputHash {sri(ORPHAN_DIGEST)}"
    assert d["orphan-1.0"]["match_detail"] == f"no expression at {fx.ids['c1'][:12]} is orphan-1.0, and no source of it was matched by hash"
    assert d["app-1.0"]["reason"] == d["app-1.0"]["match_detail"]
    for name in ("orphan-1.0", "orphan-1.0.tar.gz", "app-1.0"):
        assert d[name]["package"] is None and d[name]["chain"] == [] and d[name]["trusted"] is False


def test_chains_are_the_packages_chains(fx, whole):
    d = by_name(whole)
    upstream = ("upstream", None, RELEASES, "verified", True)
    assert chain(d["hello-2.12"]) == chain(d["hello-2.12.tar.gz"]) == [
        upstream, ("commit", fx.ids["c0"], "alice", "trusted", True)]
    assert chain(d["libfoo-1.0"]) == [upstream, ("commit", fx.ids["c0"], "alice", "trusted", True),
                                      ("commit", fx.ids["c1"], None, "unknown-key", False)]
    assert d["libfoo-1.0"]["reason"].startswith(f"commit {fx.ids['c1'][:12]}: ")
    assert d["ghpkg-0.3"]["upstream"]["status"] == "unavailable"
    assert chain(d["libbar-2.0"]) == [upstream, ("commit", fx.ids["c0"], "alice", "trusted", True)]


def test_an_output_path_is_read_through_its_deriver(fx):
    """An output path: its run-time closure from the store's database, each path's deriver, and the
    deriver's inputs read to match it through its source."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(fx.root), "NIX_PATH": ""}
    added = fx.root / "add" / "hello-2.12.tar.gz"
    added.parent.mkdir(exist_ok=True)
    shutil.copy(fx.mirror / "releases.example.org" / "hello" / "hello-2.12.tar.gz", added)
    source = subprocess.run(["nix-store", "--store", str(fx.store), "--add-fixed", "sha256", str(added)],
                            capture_output=True, text=True, env=env, check=True).stdout.strip()
    built = subprocess.run(["nix-build", "--store", str(fx.store), "--no-out-link", "-A", "helloBuilt",
                            str(fx.root / "closure")], capture_output=True, text=True, env=env, check=True).stdout.strip()
    res = fx.closure(built)
    assert res.code == 0, res.describe()
    assert [(d["name"], d["match"], d["package"], d["outputs"]) for d in res.json["derivations"]] == [
        ("hello-2.12", "name", HELLO, [built])]
    assert res.json["derivations"][0]["match_detail"] == (f"pname-version hello-2.12 and its input hello-2.12.tar.gz "
                                                          f"({sri(fx.digests['hello'])}) are {HELLO}'s")
    assert res.json["target"]["kind"] == "output"
    deriver = subprocess.run(["nix-store", "--store", str(fx.store), "-qd", built], capture_output=True, text=True,
                             env=env, check=True).stdout.strip()
    (fx.root / "mixed.txt").write_text(f"{built}\n{deriver}\n")  # an output and its own .drv: one derivation
    res = fx.closure(fx.root / "mixed.txt")
    assert res.code == 0, res.describe()
    assert [(d["drv"], d["match"]) for d in res.json["derivations"]] == [(deriver, "name")]
    inside = built + "/bin/hello"  # a file inside the output stands for the output (buildenv made none: no matter)
    res = fx.closure(inside)
    assert res.code == 0, res.describe()
    assert res.json["target"]["source"] == built
    res = fx.closure(source)  # added as a file: no derivation built it
    assert res.code == 1, res.describe()
    assert [(d["name"], d["match"], d["reason"]) for d in res.json["derivations"]] == [
        ("hello-2.12.tar.gz", None, "the store knows no derivation that built this path (substituted without one, "
                                    "or added as a file)")]


def test_an_output_path_the_store_does_not_have(fx):
    missing = "/nix/store/" + "2" * 32 + "-gone-1.0"
    res = fx.closure(missing)
    assert res.code == 2
    assert res.stderr.strip() == (f"commitguard: error: {missing}: TARGET: nix-store --query --requisites: error: path "
                                  f"'{missing}' is not valid")


def test_summary_lists_the_untrusted_first_and_the_weakest_links(fx, whole):
    summary = whole["summary"]
    assert summary["total"] == 10 and summary["trusted"] == 3 and summary["unmatched"] == 3
    assert summary["by_match"] == {"hash": 3, "name": 4, "none": 3}
    assert summary["trusted_by_match"] == {"hash": 1, "name": 2}
    assert summary["trusted_by_vouch"] == {"signature": 3}
    trusted = [d["trusted"] for d in whole["derivations"]]
    assert trusted == sorted(trusted)  # untrusted first
    assert [d["match"] for d in whole["derivations"][:3]] == [None, None, None]
    weakest = summary["weakest_links"]
    assert weakest[0] == {"link": "unmatched", "reason": "no package expression matched: nothing vouches for these",
                          "derivations": 3, "packages": []}
    assert {(w["link"], w.get("commit"), w["derivations"], tuple(w["packages"])) for w in weakest[1:]} == {
        ("commit", fx.ids["c1"], 2, (LIBFOO,)), ("upstream", None, 2, (GHPKG,))}


def test_a_fully_trusted_closure_exits_0(fx):
    res = fx.closure(fx.drvs["hello"])
    assert res.code == 0, res.describe()
    assert res.json["ok"] is True
    assert [(d["name"], d["match"]) for d in res.json["derivations"]] == [("hello-2.12", "name"),
                                                                         ("hello-2.12.tar.gz", "hash")]


def test_exit_1_says_why(fx):
    res = fx.closure(fx.drvs["libfoo"], fmt="text")
    assert res.code == 1
    assert res.stderr.strip().splitlines()[-1] == ("commitguard: annotate: exit 1: 2 of 2 derivations not trusted "
                                                   "(unmatched: 0, matched but chain not trusted: 2)")
    assert "libfoo-1.0  by name  " + LIBFOO + "  NOT TRUSTED" in res.stdout


def test_derivation_json_and_store_path_list(fx, whole):
    shown = subprocess.run(["nix", "--extra-experimental-features", "nix-command", "show-derivation", "--store",
                            str(fx.store), "-r", fx.drvs["app"]], capture_output=True, text=True, check=True).stdout
    (fx.root / "drv.json").write_text(shown)
    res = fx.closure(fx.root / "drv.json")
    assert res.code == 1, res.describe()
    assert {d["name"]: (d["match"], d["package"], d["trusted"]) for d in res.json["derivations"]} == EXPECTED
    listed = subprocess.run(["nix-store", "--store", str(fx.store), "-qR", fx.drvs["app"]], capture_output=True,
                            text=True, check=True).stdout
    (fx.root / "paths.txt").write_text(listed)
    res = fx.closure(fx.root / "paths.txt")
    assert res.code == 1, res.describe()
    assert {d["name"]: (d["match"], d["package"], d["trusted"]) for d in res.json["derivations"]} == EXPECTED
    assert res.json["target"]["kind"] == "store-paths"
    assert any(line.endswith("-build.sh") for line in listed.split())
    assert res.json["warnings"] == ["1 listed path(s) are files the listed derivations were given (inputSrcs), "
                                    "not derivations: not annotated"]


def test_the_newer_derivation_json_format(fx, tmp_path):
    """Newer Nix writes store paths without /nix/store/, hashAlgo beside method, inputs as
    {"outputs": [...]}, and the name beside env: the same closure, rewritten that way."""
    shown = json.loads(subprocess.run(["nix", "--extra-experimental-features", "nix-command", "show-derivation",
                                       "--store", str(fx.store), "-r", fx.drvs["app"]], capture_output=True, text=True,
                                      check=True).stdout)

    def bare(path: str) -> str:
        return path.removeprefix("/nix/store/")

    newer = {}
    for path, drv in shown.items():
        outputs = {}
        for name, out in drv["outputs"].items():
            outputs[name] = {"path": bare(out["path"])}
            if "hash" in out:
                algo = out["hashAlgo"]
                outputs[name].update(hash=out["hash"], hashAlgo=algo.removeprefix("r:"),
                                     method="nar" if algo.startswith("r:") else "flat")
        env = dict(drv["env"])
        newer[bare(path)] = {"name": env.pop("name"), "outputs": outputs, "env": env,
                             "inputDrvs": {bare(p): {"outputs": o, "dynamicOutputs": {}} for p, o in drv["inputDrvs"].items()},
                             "inputSrcs": [bare(p) for p in drv["inputSrcs"]], "system": drv["system"],
                             "builder": drv["builder"], "args": drv["args"]}
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    res = fx.closure(tmp_path / "newer.json")
    assert res.code == 1, res.describe()
    assert {d["name"]: (d["match"], d["package"], d["trusted"]) for d in res.json["derivations"]} == EXPECTED
    assert by_name(res.json)["source"]["match_detail"].startswith(f"outputHash {sri(GH_DIGEST)} (recursive) ")


def _parse_drv_outputs(fx, drv: str) -> list[str]:
    text = fx.physical(drv).read_text()
    return [text.split('"')[3]]  # Derive([("out","<path>",...


def sbomnix_sbom(fx) -> dict:
    """An SBOM as sbomnix writes one (CycloneDX 1.4): one library per derivation, the .drv as bom-ref."""
    components, dependencies = [], []
    for path in subprocess.run(["nix-store", "--store", str(fx.store), "-qR", fx.drvs["app"]], capture_output=True,
                               text=True, check=True).stdout.split():
        if not path.endswith(".drv"):
            continue  # sbomnix lists derivations, not the files they were given
        name = path.split("-", 1)[1][:-4]
        pname, _, version = name.rpartition("-") if name[-1].isdigit() and "-" in name else (name, "", "")
        component = {"type": "library", "bom-ref": path, "name": pname, "version": version,
                     "properties": [{"name": "nix:output_path", "value": _parse_drv_outputs(fx, path)[0]},
                                    {"name": "nix:drv_path", "value": path}]}
        if version:
            component["purl"] = f"pkg:nix/{pname}@{version}"
        components.append(component)
        inputs = [line.split('"')[1] for line in fx.physical(path).read_text().split("),(") if ".drv\"," in line]
        dependencies.append({"ref": path, "dependsOn": inputs})
    return {"bomFormat": "CycloneDX", "specVersion": "1.4", "version": 1,
            "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
            "metadata": {"timestamp": "2025-01-01T00:00:00Z",
                         "tools": [{"vendor": "TII", "name": "sbomnix", "version": "1.7.3"}],
                         "component": dict(next(c for c in components if c["bom-ref"] == fx.drvs["app"]))},
            "components": components, "dependencies": dependencies}


def bombon_sbom(fx) -> dict:
    """An SBOM as bombon writes one (CycloneDX 1.5): the output path without /nix/store/ as bom-ref,
    a fixed output's outputHash in hashes, the source's hash in a vcs reference."""
    def component(name, version, out, hashes=None, src=None):
        c = {"type": "application", "bom-ref": out.removeprefix("/nix/store/"), "name": name, "version": version,
             "scope": "required", "purl": f"pkg:nix/{name}@{version}"}
        if hashes:
            c["hashes"] = [{"alg": "SHA-256", "content": hashes.hex()}]
        if src:
            url, digest = src
            c["externalReferences"] = [{"type": "vcs", "url": url, "hashes": [{"alg": "SHA-256", "content": digest.hex()}]}]
        return c

    out = {a: _parse_drv_outputs(fx, p)[0] for a, p in fx.drvs.items()}
    hello_src = f"{RELEASES}hello/hello-2.12.tar.gz"
    components = [
        component("hello", "2.12", out["hello"], src=(hello_src, fx.digests["hello"])),
        component("libbar", "2.0", out["libbar"]),
        component("ghpkg", "0.3", out["ghpkg"], src=("https://github.com/example/ghpkg", GH_DIGEST)),
        component("source", "", "/nix/store/" + "0" * 32 + "-source", hashes=GH_DIGEST),
        component("orphan", "1.0", out["orphan"]),
    ]
    return {"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
            "serialNumber": "urn:uuid:9d0e5a1b-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
            "metadata": {"tools": {"components": [{"type": "application", "name": "bombon", "version": "0.4.0"}]},
                         "component": component("app", "1.0", out["app"])},
            "components": components}


def validate(text: str, version: str) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    assert JsonStrictValidator(SchemaVersion.from_version(version)).validate_str(text) is None


def properties(component: dict) -> dict[str, str]:
    return {p["name"]: p["value"] for p in component.get("properties", [])}


def test_sbomnix_sbom_is_enriched_in_place(fx):
    sbom = sbomnix_sbom(fx)
    validate(json.dumps(sbom), "1.4")
    (fx.root / "sbomnix.cdx.json").write_text(json.dumps(sbom))
    res = fx.closure(fx.root / "sbomnix.cdx.json", fmt="cyclonedx")
    assert res.code == 1, res.describe()
    out = json.loads(res.stdout)
    validate(res.stdout, "1.4")
    assert [c["bom-ref"] for c in out["components"]] == [c["bom-ref"] for c in sbom["components"]]
    assert out["dependencies"] == sbom["dependencies"]
    found = {}
    for component in out["components"]:
        props = properties(component)
        assert props["nix:drv_path"] == component["bom-ref"]  # sbomnix's own properties kept
        name = component["bom-ref"].split("-", 1)[1][:-4]
        found[name] = (None if props["commitguard:match"] == "none" else props["commitguard:match"],
                       props.get("commitguard:package"), props["commitguard:trusted"] == "true")
    assert found == EXPECTED
    hello = next(c for c in out["components"] if c["bom-ref"] == fx.drvs["hello"])
    props = properties(hello)
    assert props["commitguard:chain:0"] == f"upstream/{RELEASES}/-/verified"
    assert props["commitguard:chain:1"] == f"commit/alice/{fx.ids['c0']}/trusted"
    assert {p["name"]: p["value"] for p in out["metadata"]["properties"]}["commitguard:ok"] == "false"
    res = fx.closure(fx.root / "sbomnix.cdx.json")
    assert res.json["target"] == {"kind": "sbom", "source": str(fx.root / "sbomnix.cdx.json"), "producer": "sbomnix"}


def test_bombon_sbom_is_enriched_without_the_store(fx):
    sbom = bombon_sbom(fx)
    validate(json.dumps(sbom), "1.5")
    (fx.root / "bombon.cdx.json").write_text(json.dumps(sbom))
    args = ["annotate", "--closure", fx.root / "bombon.cdx.json", "--repo", fx.repo.path, "--keyring", fx.keyring,
            "--trust-root", fx.ids["c0"], "--upstream-mirror", fx.mirror, "--no-cache"]
    res = fx.cli(*args, "--format", "json")
    assert res.code == 1, res.describe()
    assert {d["ref"]: (d["match"], d["package"], d["trusted"]) for d in res.json["derivations"]} == {
        sbom["metadata"]["component"]["bom-ref"]: (None, None, False),
        sbom["components"][0]["bom-ref"]: ("name", HELLO, True),  # pname-version and its source hash
        sbom["components"][1]["bom-ref"]: ("name", LIBBAR, True),
        sbom["components"][2]["bom-ref"]: ("name", GHPKG, False),
        sbom["components"][3]["bom-ref"]: ("hash", GHPKG, False),
        sbom["components"][4]["bom-ref"]: (None, None, False),
    }
    hello = next(d for d in res.json["derivations"] if d["name"] == "hello-2.12")
    assert hello["match_detail"] == f"pname-version hello-2.12 and its source hash {sri(fx.digests['hello'])} are {HELLO}'s"
    res = fx.cli(*args, "--format", "cyclonedx")
    assert res.code == 1, res.describe()
    validate(res.stdout, "1.5")
    out = json.loads(res.stdout)
    assert len(out["components"]) == 5
    source = out["components"][3]
    assert source["hashes"] == sbom["components"][3]["hashes"]
    assert source["evidence"]["identity"]["methods"][0]["technique"] == "hash-comparison"
    assert properties(out["metadata"]["component"])["commitguard:match"] == "none"


def test_text_and_markdown(fx):
    res = fx.closure(fx.drvs["app"], fmt="markdown")
    assert res.code == 1
    assert res.stdout.startswith("## ❌ commitguard annotate --closure: 3 of 10 derivations trusted\n")
    res = fx.closure(fx.drvs["app"], fmt="text")
    assert "3 of 10 derivations trusted (by hash 1, by name 2); 3 unmatched" in res.stdout


def test_the_index_is_cached_per_tree(fx, tmp_path):
    cache = tmp_path / "cache"
    first = fx.closure(fx.drvs["hello"], cache=cache)
    assert first.json["index"]["built"] is True and first.json["index"]["blobs_read"] == 4
    second = fx.closure(fx.drvs["hello"], cache=cache)
    assert second.json["index"]["built"] is False and second.json["index"]["blobs_read"] == 0
    assert second.json["derivations"] == first.json["derivations"]


# --------------------------------------------------------------------------- bad input: exit 2, one line


def test_missing_file(fx):
    res = fx.closure(fx.root / "nope.json")
    assert res.code == 2
    assert res.stderr.strip() == f"commitguard: error: {fx.root / 'nope.json'}: TARGET: no such file (and not a store path)"


def test_a_drv_not_in_the_store(fx):
    missing = "/nix/store/" + "1" * 32 + "-missing-1.0.drv"
    res = fx.closure(missing)
    assert res.code == 2
    assert res.stderr.strip() == f"commitguard: error: {missing}: TARGET: no such derivation in the store {fx.store}"


def test_not_a_closure_file(fx):
    (fx.root / "notes.txt").write_text("hello world\n")
    res = fx.closure(fx.root / "notes.txt")
    assert res.code == 2
    assert res.stderr.strip() == f"commitguard: error: {fx.root / 'notes.txt'}: TARGET: line 1: not a store path: 'hello world'"


def test_a_malformed_sbom(fx):
    (fx.root / "bad.cdx.json").write_text(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
                                                      "components": "none"}))
    res = fx.closure(fx.root / "bad.cdx.json")
    assert res.code == 2
    assert res.stderr.strip() == (f"commitguard: error: {fx.root / 'bad.cdx.json'}: components: not valid CycloneDX 1.5: "
                                  f"'none' is not of type 'array'")


def test_invalid_json(fx):
    (fx.root / "broken.json").write_text('{"bomFormat": ')
    res = fx.closure(fx.root / "broken.json")
    assert res.code == 2
    assert res.stderr.strip() == (f"commitguard: error: {fx.root / 'broken.json'}: TARGET: invalid JSON at line 1 column 15: "
                                  f"Expecting value")


def test_a_corrupt_drv_in_the_store(fx, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(fx.store / "nix" / "store", store / "nix" / "store", symlinks=True)
    drv = fx.drvs["libbar"]
    target = Path(str(store) + drv)
    target.chmod(0o644)
    target.write_text("Derive([(\"out\"")
    res = fx.cli("annotate", "--closure", drv, "--store", store, "--repo", fx.repo.path, "--keyring", fx.keyring,
                 "--no-cache")
    assert res.code == 2
    assert res.stderr.strip() == f"commitguard: error: {drv}: TARGET: not a derivation (ATerm): expected ',' at byte 14"


def test_packages_and_closure_together_are_refused(fx):
    res = fx.cli("annotate", "hello", "--closure", fx.drvs["app"], "--repo", fx.repo.path, "--no-cache")
    assert res.code == 2
    assert res.stderr.strip() == "commitguard: error: PACKAGE: --closure annotates a closure's derivations: give no PACKAGE with it"


def test_a_new_sbom_for_a_closure_without_one(fx):
    source = by_name(fx.closure(fx.drvs["hello"]).json)["hello-2.12.tar.gz"]["drv"]
    res = fx.closure(fx.drvs["hello"], fmt="cyclonedx-1.5")
    assert res.code == 0, res.describe()
    validate(res.stdout, "1.5")
    out = json.loads(res.stdout)
    assert out["specVersion"] == "1.5"
    assert [(c["bom-ref"], properties(c)["commitguard:match"], properties(c)["commitguard:package"])
            for c in out["components"]] == [(fx.drvs["hello"], "name", HELLO), (source, "hash", HELLO)]


def test_a_symlink_into_the_store_is_the_path_it_points_to(fx, tmp_path):
    (tmp_path / "result").symlink_to(fx.drvs["hello"])
    res = fx.closure(tmp_path / "result")
    assert res.code == 0, res.describe()
    assert res.json["target"]["source"] == fx.drvs["hello"]


def test_derivation_json_with_a_wrong_field(fx):
    (fx.root / "wrong.json").write_text(json.dumps({fx.drvs["hello"]: {"outputs": {"out": {"path": "/nix/store/x",
                                                                                          "hash": 7}}}}))
    res = fx.closure(fx.root / "wrong.json")
    assert res.code == 2
    assert res.stderr.strip() == (f"commitguard: error: {fx.root / 'wrong.json'}: {fx.drvs['hello']}.outputs.out: "
                                  f"hashAlgo and hash must be strings")


def test_json_nested_too_deeply(fx):
    (fx.root / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    res = fx.closure(fx.root / "deep.json")
    assert res.code == 2
    assert res.stderr.strip() == f"commitguard: error: {fx.root / 'deep.json'}: TARGET: JSON nested too deeply"


def test_store_needs_closure(fx):
    res = fx.cli("annotate", "--store", fx.store, "--repo", fx.repo.path, "--no-cache")
    assert res.code == 2
    assert res.stderr.strip() == "commitguard: error: --store: --store is read only with --closure"


# --------------------------------------------------------------------------- one hash, two expressions


def test_a_hash_two_expressions_pin_is_resolved_by_the_derivation_using_it(fx, whole):
    """hello-doc pins hello's release too. The source alone cannot be told apart; in hello-2.12's
    closure, the derivation that uses it is hello's (by name), and that decides it."""
    hello_doc = "pkgs/by-name/he/hello-doc/package.nix"
    repo = fx.repo.clone_to(fx.root / "copies" / "shared", fx.root)
    repo.commit("hello-doc: init", {hello_doc: package_nix("hello-doc", "2.12", sri(fx.digests["hello"]))},
                signer=fx.keys["alice"])
    source = by_name(whole)["hello-2.12.tar.gz"]["drv"]
    args = ["annotate", "--repo", repo.path, "--keyring", fx.keyring, "--trust-root", fx.ids["c0"], "--store", fx.store,
            "--upstream-mirror", fx.mirror, "--no-cache", "--format", "json"]
    res = fx.cli(*args, "--closure", source)
    assert res.code == 1, res.describe()
    [alone] = res.json["derivations"]
    assert (alone["match"], alone["package"], alone["candidates"]) == (None, None, [hello_doc, HELLO])
    assert alone["reason"] == (f"outputHash {sri(fx.digests['hello'])} is the hash of fetcher calls in 2 expressions "
                               f"({hello_doc}, {HELLO}): which one this derivation comes from cannot be told")
    res = fx.cli(*args, "--closure", fx.drvs["hello"])
    assert res.code == 0, res.describe()
    found = by_name(res.json)
    assert (found["hello-2.12.tar.gz"]["match"], found["hello-2.12.tar.gz"]["package"]) == ("hash", HELLO)
    assert found["hello-2.12.tar.gz"]["match_detail"].endswith(
        f"(also pinned by 1 other expression(s); the derivation that uses it comes from {HELLO})")
    assert found["hello-2.12"]["match_detail"] == "pname-version hello-2.12 only (no source of it was matched by hash)"


def test_a_version_the_revision_does_not_have_is_named(fx, tmp_path):
    shown = json.loads(subprocess.run(["nix", "--extra-experimental-features", "nix-command", "show-derivation",
                                       "--store", str(fx.store), fx.drvs["libbar"]], capture_output=True, text=True,
                                      check=True).stdout)
    [(path, drv)] = shown.items()
    drv["env"]["name"] = "libbar-2.1"
    (tmp_path / "drv.json").write_text(json.dumps({path: drv}))
    res = fx.closure(tmp_path / "drv.json")
    assert res.code == 1
    assert res.json["derivations"][0]["reason"] == (f"no expression at {fx.ids['c1'][:12]} is libbar-2.1, and no source "
                                                    f"of it was matched by hash ({LIBBAR} is libbar 2.0)")


# --------------------------------------------------------------------------- hash spellings, written out independently


def test_the_index_reads_every_spelling_nix_accepts():
    from commitguard.closure.hash_index import literals

    d256 = hashlib.sha256(b"a").digest()
    d512 = hashlib.sha512(b"b").digest()
    text = (f'hash = "{sri(d256)}";\nsha256 = "{nix32(d256)}";\nsha256 = "{d256.hex()}";\n'
            f'hash = "sha256:{nix32(hashlib.sha256(b"c").digest())}";\n'
            f'sha512 = "{d512.hex()}";\n# sha256-notahash\npname = "foo";\n').encode()
    hashes, names = literals(text)
    assert hashes == {sri(d256), "sha256-" + base64.b64encode(hashlib.sha256(b"c").digest()).decode(),
                      "sha512-" + base64.b64encode(d512).decode()}
    assert names == {"foo"}



def test_a_hash_in_a_comment_matches_nothing(fx, whole):
    orphan = "pkgs/by-name/or/orphan/package.nix"
    text = package_nix("orphan", "1.0", sri(fx.digests["libbar"])).replace(
        "{ lib, stdenv, fetchurl }:", f"# was \"{ORPHAN_DIGEST.hex()}\"\n{{ lib, stdenv, fetchurl }}:")
    repo = fx.repo.clone_to(fx.root / "copies" / "comment", fx.root)
    repo.commit("orphan: init", {orphan: text}, signer=fx.keys["alice"])
    res = fx.cli("annotate", "--closure", fx.drvs["orphan"], "--store", fx.store, "--repo", repo.path, "--keyring",
                 fx.keyring, "--trust-root", fx.ids["c0"], "--upstream-mirror", fx.mirror, "--no-cache",
                 "--format", "json")
    assert res.code == 1, res.describe()
    found = by_name(res.json)
    assert (found["orphan-1.0.tar.gz"]["match"], found["orphan-1.0.tar.gz"]["reason"]) == (
        None, f"outputHash {sri(ORPHAN_DIGEST)} is written in {orphan}, but no fetcher call read there has it "
              f"(a comment, or arguments that cannot be read statically)")
    assert (found["orphan-1.0"]["match"], found["orphan-1.0"]["package"]) == ("name", orphan)


def test_a_run_time_sbom_is_matched_through_the_sources_in_the_store(fx):
    """sbomnix's default SBOM lists run-time dependencies only: no source is a component. The
    derivations' inputs are read from the store, so they are still matched through their sources."""
    sbom = sbomnix_sbom(fx)
    fixed = {"hello-2.12.tar.gz", "libfoo-1.0.tar.gz", "source", "orphan-1.0.tar.gz"}
    sbom["components"] = [c for c in sbom["components"] if c["bom-ref"].split("-", 1)[1][:-4] not in fixed]
    refs = {c["bom-ref"] for c in sbom["components"]}
    sbom["dependencies"] = [{"ref": d["ref"], "dependsOn": [r for r in d["dependsOn"] if r in refs]}
                            for d in sbom["dependencies"] if d["ref"] in refs]
    (fx.root / "runtime.cdx.json").write_text(json.dumps(sbom))
    res = fx.closure(fx.root / "runtime.cdx.json")
    assert res.code == 1, res.describe()
    found = by_name(res.json)
    assert {name: (d["match"], d["package"]) for name, d in found.items()} == {
        name: expected[:2] for name, expected in EXPECTED.items() if name not in fixed}
    assert found["hello-2.12"]["match_detail"] == (f"pname-version hello-2.12 and its input hello-2.12.tar.gz "
                                                   f"({sri(fx.digests['hello'])}) are {HELLO}'s")


def test_files_past_the_index_limit_leave_their_hashes_unmatched(fx, monkeypatch):
    from commitguard.closure import hash_index
    from tests.fixtures.cli import subprocess_mode

    if subprocess_mode():
        pytest.skip("the limit is lowered in process")
    monkeypatch.setattr(hash_index, "MAX_FILES", 1)  # of the four expressions, only the first met is indexed
    res = fx.closure(fx.drvs["app"])
    assert res.code == 1, res.describe()
    assert res.json["warnings"][-1] == ("the revision has more than 1 .nix/.json files: the rest were not indexed, and "
                                        "what only they hold is unmatched")
    assert res.json["summary"]["by_match"]["hash"] < 3

