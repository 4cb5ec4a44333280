"""Static reading of package expressions: fetcher calls, hashes, mirrors, limits.

The corpus under ``data/nix-corpus`` follows the shapes of real nixpkgs and
community package sets (by-name ``package.nix`` files, ``rec`` and
``finalAttrs``, ``let`` blocks, JSON files beside the expression,
per-platform sources). Hashes written there in nix-base32 or hex are the
SHA-256 of a short label (``_digest_sri``), so the expected SRI below is
computed with hashlib, not with the converter under test.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
from pathlib import Path

import pytest

from commitguard.nix import hashes, mirrors
from commitguard.nix.fetchers import read_package

CORPUS = Path(__file__).parent.parent / "data" / "nix-corpus"

# A generous bound: the step budget keeps real runs far below it.
HOSTILE_SECONDS = 10.0


def _digest_sri(label: str, algo: str = "sha256") -> str:
    return f"{algo}-" + base64.b64encode(hashlib.new(algo, label.encode()).digest()).decode()


def _read(name: str, **kwargs):
    path = CORPUS / name / "package.nix"
    return read_package(path, path.read_bytes(), root=CORPUS, **kwargs)


def _inline(tmp_path: Path, text: str, **kwargs):
    path = tmp_path / "package.nix"
    path.write_text(text)
    return read_package(path, path.read_bytes(), root=tmp_path, **kwargs)


# --------------------------------------------------------------------- hashes

# Vectors published with Nix (`nix hash convert`, tests/functional/hash.sh),
# checked against hashlib here rather than trusted.
NIX32_VECTORS = [
    (b"abc", "sha256", "1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s"),
    (b"", "sha256", "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73"),
    (b"abc", "sha1", "kpcd173cq987hw957sx6m0868wv3x6d9"),
]


@pytest.mark.parametrize(("data", "algo", "nix32"), NIX32_VECTORS)
def test_nix32_matches_published_vectors(data, algo, nix32):
    digest = hashlib.new(algo, data).digest()
    assert hashes.nix32_encode(digest) == nix32
    assert hashes.nix32_decode(nix32, len(digest)) == digest
    assert hashes.to_sri(nix32, algo) == f"{algo}-" + base64.b64encode(digest).decode()


def test_sha256_abc_in_every_spelling_is_one_sri():
    expected = "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
    hexdigest = hashlib.sha256(b"abc").hexdigest()
    nix32 = "1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s"
    for spelling in (
        expected,
        nix32,
        hexdigest,
        "sha256:" + nix32,
        "sha256:" + hexdigest,
        "sha256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=",
    ):
        assert hashes.to_sri(spelling, "sha256") == expected, spelling
    # `hash = "..."` gives no algorithm; the prefix or the SRI form does.
    assert hashes.to_sri("sha256:" + nix32) == expected
    assert hashes.to_sri(expected) == expected


def test_fake_hashes_are_all_zero_digests():
    zero = "sha256-" + base64.b64encode(bytes(32)).decode()
    assert zero == "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    assert hashes.to_sri("0" * 52, "sha256") == zero  # lib.fakeSha256
    assert hashes.to_sri("0" * 64, "sha256") == zero
    assert hashes.to_sri("0" * 128, "sha512") == "sha512-" + base64.b64encode(bytes(64)).decode()


def test_sha512_and_sha1_hex():
    digest = hashlib.sha512(b"abc").digest()
    assert hashes.to_sri(digest.hex(), "sha512") == "sha512-" + base64.b64encode(digest).decode()
    assert hashes.to_sri(hashlib.sha1(b"abc").hexdigest(), "sha1") == _digest_sri("abc", "sha1")


def test_random_digests_round_trip():
    for size in (16, 20, 32, 64):
        for _ in range(50):
            digest = os.urandom(size)
            assert hashes.nix32_decode(hashes.nix32_encode(digest), size) == digest


@pytest.mark.parametrize(
    "bad",
    [
        "1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5",  # one short
        "eb8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s",  # 'e' is not nix32
        "2" + "0" * 51,  # more than 256 bits
        "sha256-notbase64!!",
        "sha256-" + base64.b64encode(bytes(31)).decode(),
        "md5:zz",
        "",
    ],
)
def test_invalid_hashes_are_rejected(bad):
    with pytest.raises(hashes.HashError):
        hashes.to_sri(bad, "sha256")


def test_bare_hash_of_ambiguous_length_needs_the_algorithm():
    # 32 characters: md5 in hex or sha1 in nix32.
    with pytest.raises(hashes.HashError):
        hashes.to_sri("kpcd173cq987hw957sx6m0868wv3x6d9")
    assert hashes.to_sri("kpcd173cq987hw957sx6m0868wv3x6d9", "sha1") == _digest_sri("abc", "sha1")


# -------------------------------------------------------------------- mirrors


@pytest.mark.parametrize(
    ("url", "expanded"),
    [
        ("mirror://gnu/hello/hello-2.12.2.tar.gz", "https://ftp.gnu.org/gnu/hello/hello-2.12.2.tar.gz"),
        ("mirror://sourceforge/zsh/zsh-5.9.tar.xz", "https://downloads.sourceforge.net/zsh/zsh-5.9.tar.xz"),
        ("mirror://pypi/r/requests/requests-2.32.3.tar.gz", "https://files.pythonhosted.org/packages/source/r/requests/requests-2.32.3.tar.gz"),
        ("mirror://gnome/sources/glib/2.82/glib-2.82.4.tar.xz", "https://download.gnome.org/sources/glib/2.82/glib-2.82.4.tar.xz"),
        ("mirror://kde/stable/plasma/6.2.4/kwin-6.2.4.tar.xz", "https://download.kde.org/stable/plasma/6.2.4/kwin-6.2.4.tar.xz"),
        ("mirror://apache/httpd/httpd-2.4.62.tar.bz2", "https://dlcdn.apache.org/httpd/httpd-2.4.62.tar.bz2"),
        ("mirror://cpan/authors/id/E/ET/ETHER/Moose-2.2207.tar.gz", "https://cpan.metacpan.org/authors/id/E/ET/ETHER/Moose-2.2207.tar.gz"),
        ("mirror://debian/pool/main/l/less/x.tar.xz", "https://httpredir.debian.org/debian/pool/main/l/less/x.tar.xz"),
        ("mirror://ubuntu/pool/main/x.deb", "https://nl.archive.ubuntu.com/ubuntu/pool/main/x.deb"),
        ("mirror://xorg/individual/lib/libX11-1.8.10.tar.xz", "https://xorg.freedesktop.org/releases/individual/lib/libX11-1.8.10.tar.xz"),
        ("mirror://hackage/aeson-2.2.3.0/aeson-2.2.3.0.tar.gz", "https://hackage.haskell.org/package/aeson-2.2.3.0/aeson-2.2.3.0.tar.gz"),
        ("mirror://cran/jsonlite_1.8.9.tar.gz", "https://cran.r-project.org/src/contrib/jsonlite_1.8.9.tar.gz"),
        ("mirror://luarocks/x.rock", "https://luarocks.org/x.rock"),
        ("mirror://mozilla/firefox/x", "https://download.cdn.mozilla.net/pub/mozilla.org/firefox/x"),
        ("mirror://samba/samba/x", "https://download.samba.org/pub/samba/x"),
        ("mirror://kernel/linux/x", "https://cdn.kernel.org/pub/linux/x"),
        ("mirror://savannah/acl/x", "https://download.savannah.gnu.org/releases/acl/x"),
        ("mirror://sageupstream/x", "https://sagemath.mirror.ac.za/spkg/upstream/x"),
    ],
)
def test_mirror_expansion(url, expanded):
    assert mirrors.expand(url) == expanded


def test_unknown_mirrors_and_plain_urls_stay_as_written():
    assert mirrors.expand("mirror://nosuchmirror/a/b") == "mirror://nosuchmirror/a/b"
    assert mirrors.expand("mirror://gnu") == "mirror://gnu"
    assert mirrors.expand("https://example.org/x") == "https://example.org/x"


# --------------------------------------------------------------------- corpus

# Every fetcher call of these corpus files, in file order; keys not listed
# (owner, repo, rev, tag, url) must be None, and the call resolved unless
# "unresolved" is given.
EXPECTED = {
    "hello": [
        {"fetcher": "fetchurl", "url": "https://ftp.gnu.org/gnu/hello/hello-2.12.2.tar.gz",
         "hash": "sha256-WpqZbcKSzCTc9BHO6H6S9qrluNE72caBm0x6nc4IGKs="},
    ],
    "jq": [
        {"fetcher": "fetchurl", "url": "https://github.com/jqlang/jq/releases/download/jq-1.7.1/jq-1.7.1.tar.gz",
         "hash": "sha256-R4ycoSn9LjRD/icxS0VeIR4NjGC8j/ffcDhz3u7lgMI="},
    ],
    "curl": [
        {"fetcher": "fetchurl", "url": "https://curl.haxx.se/download/curl-8.11.1.tar.xz",
         "hash": _digest_sri("curl")},
    ],
    "ripgrep": [
        {"fetcher": "fetchFromGitHub", "url": "https://github.com/BurntSushi/ripgrep", "owner": "BurntSushi",
         "repo": "ripgrep", "rev": "14.1.1", "hash": "sha256-gyWnahj1A+iXUQlQ1O1H1u7K5euYQOld9qWm99Vjaeg="},
    ],
    "gh": [
        {"fetcher": "fetchFromGitHub", "url": "https://github.com/cli/cli", "owner": "cli", "repo": "cli",
         "tag": "v2.63.2", "hash": _digest_sri("gh")},
    ],
    "go-finalattrs": [
        {"fetcher": "fetchFromGitHub", "url": "https://github.com/asheshgoplani/agent-deck", "owner": "asheshgoplani",
         "repo": "agent-deck", "tag": "v1.7.70", "hash": _digest_sri("agent-deck")},
    ],
    "requests": [
        {"fetcher": "fetchPypi",
         "url": "https://files.pythonhosted.org/packages/source/r/requests/requests-2.32.3.tar.gz",
         "hash": _digest_sri("requests")},
    ],
    "django": [
        {"fetcher": "fetchPypi",
         "url": "https://files.pythonhosted.org/packages/source/D/Django/Django-4.2.17.tar.gz",
         "hash": _digest_sri("django")},
    ],
    "python-wheel": [
        {"fetcher": "fetchPypi",
         "url": "https://files.pythonhosted.org/packages/py3/p/pipx_wheel_tool/pipx_wheel_tool-1.7.1-py3-none-any.whl",
         "hash": _digest_sri("wheel-tool")},
    ],
    "httpie": [
        {"fetcher": "fetchFromGitHub", "url": "https://github.com/httpie/httpie", "owner": "httpie", "repo": "httpie",
         "rev": "refs/tags/3.2.4", "hash": _digest_sri("httpie")},
    ],
    "code-cursor": [
        {"fetcher": "fetchurl",
         "url": "https://download.todesktop.com/230313mzl4w4u92/cursor-0.44.11-build-250103fqxdt5u9z-x86_64.AppImage",
         "hash": _digest_sri("cursor-x86_64-linux")},
    ],
    "terraform-ls": [
        {"fetcher": "fetchzip",
         "url": "https://releases.hashicorp.com/terraform-ls/0.36.3/terraform-ls_0.36.3_linux_amd64.zip",
         "hash": _digest_sri("tfls-linux_amd64")},
    ],
    "deno-bin": [
        {"fetcher": "fetchurl",
         "url": "https://github.com/denoland/deno/releases/download/v2.1.4/deno-x86_64-unknown-linux-gnu.zip",
         "hash": _digest_sri("deno-x86_64")},
    ],
    "discord": [
        {"fetcher": "fetchurl", "url": "https://dl.discordapp.net/apps/linux/0.0.78/discord-0.0.78.tar.gz",
         "hash": _digest_sri("discord-linux")},
        {"fetcher": "fetchurl", "url": "https://dl.discordapp.net/apps/osx/0.0.78/Discord.dmg",
         "hash": _digest_sri("discord-darwin")},
    ],
    "darwin-if": [
        {"fetcher": "fetchurl",
         "url": "https://github.com/obsidianmd/obsidian-releases/releases/download/v1.7.7/Obsidian-1.7.7.dmg",
         "hash": _digest_sri("obsidian-dmg")},
        {"fetcher": "fetchurl",
         "url": "https://github.com/obsidianmd/obsidian-releases/releases/download/v1.7.7/obsidian-1.7.7.tar.gz",
         "hash": _digest_sri("obsidian-tgz")},
    ],
    "zsh": [
        {"fetcher": "fetchurl", "url": "https://downloads.sourceforge.net/zsh/zsh-5.9.tar.xz",
         "hash": _digest_sri("zsh")},  # written as nix-base32 `sha256 = ...`
    ],
    "boost": [
        {"fetcher": "fetchurl", "url": "https://downloads.sourceforge.net/boost/boost_1_86_0.tar.bz2",
         "hash": _digest_sri("boost")},  # written as hex
    ],
    "apache-httpd": [
        {"fetcher": "fetchurl", "url": "https://dlcdn.apache.org/httpd/httpd-2.4.62.tar.bz2",
         "hash": _digest_sri("httpd")},  # written as hex
    ],
    "kcalc": [
        {"fetcher": "fetchurl", "url": "https://download.kde.org/stable/release-service/24.12.0/src/kcalc-24.12.0.tar.xz",
         "hash": _digest_sri("kcalc")},  # written as `sha256:<nix32>`
    ],
    "outputhash": [
        {"fetcher": "fetchurl",
         "url": "https://repo1.maven.org/maven2/org/apache/maven/apache-maven/3.6.1/apache-maven-3.6.1-bin.tar.gz",
         "hash": _digest_sri("maven")},  # outputHash + outputHashAlgo
    ],
    "firefox-bin-mozilla": [
        {"fetcher": "fetchurl",
         "url": "https://download.cdn.mozilla.net/pub/mozilla.org/firefox/releases/133.0.3/linux-x86_64/en-US/firefox-133.0.3.tar.bz2",
         "hash": _digest_sri("firefox", "sha512")},
    ],
    "libinput": [
        {"fetcher": "fetchFromGitLab", "url": "https://gitlab.freedesktop.org/libinput/libinput", "owner": "libinput",
         "repo": "libinput", "rev": "1.26.2", "hash": _digest_sri("libinput")},
    ],
    "kicad-src": [
        {"fetcher": "fetchFromGitLab", "url": "https://gitlab.com/kicad/code/kicad", "owner": "code", "repo": "kicad",
         "rev": "8.0.7", "hash": _digest_sri("kicad")},
    ],
    "qt-mkderivation": [
        {"fetcher": "fetchFromGitLab", "url": "https://invent.kde.org/utilities/qtpass", "owner": "utilities",
         "repo": "qtpass", "rev": "v1.4.0", "hash": _digest_sri("qtpass")},
    ],
    "guile-git": [
        {"fetcher": "fetchgit", "url": "https://gitlab.com/guile-git/guile-git.git", "rev": "v0.9.0",
         "hash": _digest_sri("guile-git")},
    ],
    "cargo-edit": [
        {"fetcher": "fetchCrate", "url": "https://crates.io/api/v1/crates/cargo-edit/0.13.0/download",
         "hash": _digest_sri("cargo-edit")},
    ],
    "libfoo-let": [
        {"fetcher": "fetchurl", "url": "https://downloads.example.org/yaml-cpp/3.4/yaml-cpp-3.4.1.tar.gz",
         "hash": _digest_sri("yaml-cpp")},
    ],
    "libxml2": [
        {"fetcher": "fetchurl", "url": "https://download.gnome.org/sources/libxml2/2.13/libxml2-2.13.5.tar.xz",
         "hash": _digest_sri("libxml2")},
        {"fetcher": "fetchpatch",
         "url": "https://gitlab.gnome.org/GNOME/libxml2/-/commit/245b70d7d2768572ae1b05b3668ca858b9ec4ed4.patch",
         "hash": _digest_sri("libxml2-cve")},
    ],
    "openssh-patches": [
        {"fetcher": "fetchurl", "url": "https://ftp.openbsd.org/pub/OpenBSD/OpenSSH/portable/openssh-9.9p1.tar.gz",
         "hash": _digest_sri("openssh")},
        {"fetcher": "fetchpatch2",
         "url": "https://github.com/openssh/openssh-portable/commit/0acd3d1ed9e8b8d1c9a43e2c6eaa1d9bb43e4e4e.patch?full_index=1",
         "hash": _digest_sri("openssh-musl")},
    ],
    "fd-finalattrs-with": [
        {"fetcher": "fetchFromGitHub", "url": "https://github.com/sharkdp/fd", "owner": "sharkdp", "repo": "fd",
         "rev": "v10.2.0", "hash": _digest_sri("fd")},
    ],
    "lazygit-inherit-src": [
        {"fetcher": "fetchFromGitHub", "url": "https://github.com/jesseduffield/lazygit", "owner": "jesseduffield",
         "repo": "lazygit", "tag": "v0.44.1", "hash": _digest_sri("lazygit")},
    ],
    "pinned-json": [
        {"fetcher": "fetchFromGitHub", "url": "https://github.com/ziglang/shell-completions", "owner": "ziglang",
         "repo": "shell-completions", "rev": "31d3ad12890371bf467ef7143f5c2f31cfa7b7c1",
         "hash": _digest_sri("zig-completions")},
    ],
    "unstable-substring": [
        {"fetcher": "fetchFromGitHub", "url": "https://github.com/visit1985/mdp", "owner": "visit1985", "repo": "mdp",
         "rev": "9f3a3f2b1c3e6d0b8a7f5e4d3c2b1a0f9e8d7c6b", "hash": _digest_sri("mdp")},
    ],
    "tolower-owner": [
        {"fetcher": "fetchFromGitHub", "url": "https://github.com/FreeRDP/freerdp", "owner": "FreeRDP",
         "repo": "freerdp", "rev": "3.9.0", "hash": _digest_sri("freerdp")},
    ],
    "llama-cpp-submodules": [
        {"fetcher": "fetchFromGitHub", "url": "https://github.com/ggerganov/llama.cpp", "owner": "ggerganov",
         "repo": "llama.cpp", "rev": "refs/tags/b4154", "hash": _digest_sri("llama")},
    ],
    "codeberg-gitea": [
        {"fetcher": "fetchFromGitea", "url": "https://code.forgejo.org/forgejo/runner", "owner": "forgejo",
         "repo": "runner", "rev": "v6.0.1", "hash": _digest_sri("forgejo-runner")},
    ],
    "sourcehut": [
        {"fetcher": "fetchFromSourcehut", "url": "https://git.sr.ht/~rjarry/aerc", "owner": "~rjarry", "repo": "aerc",
         "rev": "0.18.2", "hash": _digest_sri("aerc")},
    ],
    "bitbucket": [
        {"fetcher": "fetchFromBitbucket", "url": "https://bitbucket.org/cxxtools/cxxtools", "owner": "cxxtools",
         "repo": "cxxtools", "rev": "V3.0", "hash": _digest_sri("cxxtools")},
    ],
    "nur-pkgs-default": [
        {"fetcher": "fetchFromGitHub", "url": "https://github.com/tinyproxy/tinyproxy", "owner": "tinyproxy",
         "repo": "tinyproxy", "rev": "1.11.2", "hash": _digest_sri("tinyproxy")},
    ],
    "nur-plain-attrs": [
        {"fetcher": "fetchFromGitHub", "url": "https://github.com/matejc/sway-scratchpad", "owner": "matejc",
         "repo": "sway-scratchpad", "rev": "v0.2.3", "hash": _digest_sri("sway-scratchpad")},
        {"fetcher": "fetchurl",
         "url": "https://raw.githubusercontent.com/matejc/sway-scratchpad/v0.2.3/completions/_sway-scratchpad",
         "hash": _digest_sri("sway-scratchpad-completions")},
    ],
    "hackage-cran-luarocks": [
        {"fetcher": "fetchurl", "url": "https://hackage.haskell.org/package/aeson-2.2.3.0/aeson-2.2.3.0.tar.gz",
         "hash": _digest_sri("aeson")},
        {"fetcher": "fetchurl", "url": "https://cran.r-project.org/src/contrib/jsonlite_1.8.9.tar.gz",
         "hash": _digest_sri("jsonlite")},
        {"fetcher": "fetchurl", "url": "https://luarocks.org/luasocket-3.1.0-1.src.rock",
         "hash": _digest_sri("luasocket")},
        {"fetcher": "fetchurl", "url": "https://sagemath.mirror.ac.za/spkg/upstream/cypari2/cypari2-2.2.0.tar.gz",
         "hash": _digest_sri("cypari2")},
    ],
    "platform-or-default": [
        {"fetcher": "fetchurl",
         "url": "https://github.com/nvarner/typst-lsp/releases/download/v1.6.2/typst-lsp-x86_64-unknown-linux-gnu",
         "hash": _digest_sri("tool-x86_64")},
    ],
    "optionalstring-url": [
        {"fetcher": "fetchurl", "url": "https://sqlite.org/2024/sqlite-tools-linux-x64-3470200.zip",
         "hash": _digest_sri("sqlite-tools")},
    ],
    "python-major-dir": [
        {"fetcher": "fetchurl", "url": "https://www.python.org/ftp/python/3.12.8/Python-3.12.8.tar.xz",
         "hash": _digest_sri("python3")},
    ],
    "gnome-tour": [
        {"fetcher": "fetchurl", "url": "https://download.gnome.org/sources/gnome-tour/47/gnome-tour-47.0.tar.xz",
         "hash": _digest_sri("gnome-tour")},
        {"fetcher": "fetchCargoVendor", "hash": _digest_sri("gnome-tour-cargo")},
    ],
    "override-attrs": [
        # Inside a function nobody calls in the file (overrideAttrs'), read
        # in its own scope: `rec` still gives it the version.
        {"fetcher": "fetchurl", "url": "https://ftp.gnu.org/gnu/hello/hello-2.12.1.tar.gz",
         "hash": _digest_sri("hello-2.12.1")},
    ],
    "hashes-nix-import": [
        {"fetcher": "fetchurl", "url": "https://downloads.mongodb.com/compass/mongodb-compass_1.44.7_amd64.deb",
         "unresolved": ("hash",)},
    ],
    "generic-callpackage": [],
}


def _check_call(call, expected: dict):
    for key in ("fetcher", "url", "owner", "repo", "rev", "tag", "hash"):
        assert getattr(call, key) == expected.get(key), (key, call)
    unresolved = expected.get("unresolved", ())
    assert call.unresolved == unresolved, call
    assert call.resolved is (not unresolved)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_fetcher_calls(name):
    package = _read(name)
    assert len(package.sources) == len(EXPECTED[name]), package.sources
    for call, expected in zip(package.sources, EXPECTED[name]):
        _check_call(call, expected)
    assert not [n for n in package.notes if n.startswith("static reading failed")]


def test_corpus_has_the_shapes_asked_for():
    files = sorted(CORPUS.glob("*/package.nix"))
    assert len(files) >= 40
    assert set(EXPECTED) <= {f.parent.name for f in files}


@pytest.mark.parametrize(
    ("name", "pname", "version"),
    [
        ("hello", "hello", "2.12.2"),
        ("jq", "jq", "1.7.1"),
        ("ripgrep", "ripgrep", "14.1.1"),
        ("code-cursor", "cursor", "0.44.11"),
        ("deno-bin", "deno-bin", "2.1.4"),
        ("pinned-json", "zig-shell-completions", "0-unstable-2024-11-02"),
        ("unstable-substring", "mdp", "1.0.15-unstable-9f3a3f2"),
        ("lazygit-inherit-src", "lazygit", "0.44.1"),
        ("go-finalattrs", "agent-deck", "1.7.70"),
        ("nur-pkgs-default", "tinyproxy-nur", "1.11.2"),
        ("nur-plain-attrs", "sway-scratchpad", "0.2.3"),
        ("perl-moose", "Moose", "2.2207"),
    ],
)
def test_corpus_name_and_version(name, pname, version):
    package = _read(name)
    assert (package.name, package.version) == (pname, version)
    assert package.path == f"{name}/package.nix"


def test_package_attrs_for_later_comparison():
    assert _read("ripgrep").attrs == {
        "cargoHash": "sha256-9atn5qyBDy4P6iUoHFhg+TV6Ur71fiah4oTJbBMeEy4=",
        "src": "fetchFromGitHub",
        "src_call": 0,  # which of the calls evaluation found at src
    }
    assert _read("gh").attrs == {"vendorHash": _digest_sri("gh-vendor"), "src": "fetchFromGitHub", "src_call": 0}
    assert _read("lazygit-inherit-src").attrs == {"vendorHash": None, "src": "fetchFromGitHub", "src_call": 0}
    assert _read("prettier-npm").attrs == {"npmDepsHash": _digest_sri("mdl-npm"), "src": "fetchFromGitHub",
                                           "src_call": 0}
    # cargoSha256 written in nix-base32 is normalised like a fetcher's hash.
    assert _read("nur-plain-attrs").attrs["cargoSha256"] == _digest_sri("sway-scratchpad-cargo")


def test_patches_as_paths_and_fetchpatch_urls():
    assert _read("libxml2").attrs["patches"] == [
        "./utf16-overflow.patch",
        "https://gitlab.gnome.org/GNOME/libxml2/-/commit/245b70d7d2768572ae1b05b3668ca858b9ec4ed4.patch",
    ]
    # `++ lib.optional stdenv.hostPlatform.isDarwin ./darwin-keychain.patch` follows `system`.
    linux = _read("openssh-patches").attrs["patches"]
    darwin = _read("openssh-patches", system="aarch64-darwin").attrs["patches"]
    assert linux[-1] == "./dont_create_privsep_path.patch"
    assert darwin[-1] == "./darwin-keychain.patch"
    assert _read("debian-patch").attrs["patches"] == [
        "https://httpredir.debian.org/debian/pool/main/l/less/less_668-1.debian.tar.xz"
    ]


def test_system_selects_per_platform_sources():
    darwin = _read("code-cursor", system="aarch64-darwin")
    assert [c.url for c in darwin.sources] == [
        "https://download.todesktop.com/230313mzl4w4u92/mac/installer/arm64/cursor-0.44.11.dmg"
    ]
    assert darwin.sources[0].hash == _digest_sri("cursor-aarch64-darwin")
    arm = _read("terraform-ls", system="aarch64-linux")
    assert arm.sources[0].url.endswith("terraform-ls_0.36.3_linux_arm64.zip")
    assert arm.sources[0].hash == _digest_sri("tfls-linux_arm64")
    # An unsupported system throws in Nix: the call stays, unresolved.
    riscv = _read("deno-bin", system="riscv64-linux")
    assert riscv.sources[0].unresolved == ("url", "sha256")
    assert riscv.sources[0].url is None


def test_git_options_are_kept_in_args():
    (call,) = _read("llama-cpp-submodules").sources
    assert call.args["fetchSubmodules"] is True
    assert call.args["leaveDotGit"] is True
    assert call.args["postFetch"].startswith('git -C "$out" rev-parse --short HEAD > $out/COMMIT\n')
    assert call.line == 12


def test_other_branches_and_unused_platforms_are_listed_too():
    # `src = if isDarwin then fetchurl {...} else fetchurl {...}`: both calls
    # are in the file; the package's own src is the chosen one.
    assert len(_read("darwin-if").sources) == 2
    assert _read("discord").attrs["src"] == "fetchurl"


def test_fetcher_given_another_fetchers_result_is_resolved():
    cargo = _read("gnome-tour").sources[1]
    assert cargo.resolved
    assert cargo.args["src"] == {"fetcher": "fetchurl", "line": 7}
    assert cargo.args["pname"] == "gnome-tour"


def test_resolution_rate_over_the_corpus():
    resolved = total = 0
    for path in sorted(CORPUS.glob("*/package.nix")):
        package = read_package(path, path.read_bytes(), root=CORPUS)
        for call in package.sources:
            total += 1
            resolved += call.resolved
    print(f"resolved {resolved}/{total}")
    assert total >= 60
    assert resolved / total >= 0.95


# ------------------------------------------------------------ inline shapes


def test_unresolved_arguments_are_named_and_nothing_is_guessed(tmp_path):
    package = _inline(
        tmp_path,
        """
        { lib, stdenv, fetchFromGitHub, someFunction }:
        stdenv.mkDerivation rec {
          pname = "thing";
          version = "1.0";
          src = fetchFromGitHub {
            owner = "someone";
            repo = "thing";
            rev = someFunction version;
            hash = "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";
          };
        }
        """,
    )
    (call,) = package.sources
    assert call.unresolved == ("rev",)
    assert call.resolved is False
    assert call.rev is None and call.tag is None
    assert call.url == "https://github.com/someone/thing"
    assert call.hash == "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
    assert call.to_json()["unresolved"] == ["rev"]
    assert any("rev" in note and "someFunction" in note for note in package.notes)


def test_unresolved_url_and_hash_from_unknown_library_calls(tmp_path):
    package = _inline(
        tmp_path,
        """
        { lib, stdenv, fetchurl }:
        stdenv.mkDerivation (finalAttrs: {
          pname = "x";
          version = "1.0";
          src = fetchurl {
            url = lib.unknownHelper finalAttrs.version;
            hash = (import ./hashes.nix).x;
          };
        })
        """,
    )
    (call,) = package.sources
    assert call.unresolved == ("url", "hash")
    assert call.url is None and call.hash is None


def test_final_attrs_src_rev_and_tag(tmp_path):
    package = _inline(
        tmp_path,
        """
        { lib, stdenv, fetchFromGitHub, fetchurl }:
        stdenv.mkDerivation (finalAttrs: {
          pname = "demo";
          version = "2.0.1";
          src = fetchFromGitHub {
            owner = "o";
            repo = "demo";
            tag = "v${finalAttrs.version}";
            hash = "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";
          };
          docs = fetchurl {
            url = "https://example.org/${finalAttrs.pname}/${finalAttrs.src.rev}/docs.tar.gz";
            hash = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
          };
          name2 = finalAttrs.name;
        })
        """,
    )
    github, docs = package.sources
    assert (github.tag, github.rev) == ("v2.0.1", None)
    # fetchFromGitHub's result names a tag as the ref it fetched.
    assert docs.url == "https://example.org/demo/refs/tags/v2.0.1/docs.tar.gz"
    assert docs.resolved


def test_inherit_from_src_and_or_defaults(tmp_path):
    (tmp_path / "sources.json").write_text(
        '{"x86_64-linux": {"url": "https://e.org/a.tgz", "sha256": "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73"}}'
    )
    package = _inline(
        tmp_path,
        """
        { lib, stdenv, fetchurl }:
        let
          sources = builtins.fromJSON (builtins.readFile ./sources.json);
          source = sources.${stdenv.hostPlatform.system} or (throw "unsupported");
          extra = sources.missing.url or "https://fallback.example/b.tgz";
        in
        stdenv.mkDerivation {
          pname = "y";
          version = "1";
          src = fetchurl { inherit (source) url sha256; };
          more = fetchurl { url = extra; hash = lib.fakeHash; };
        }
        """,
    )
    first, second = package.sources
    assert first.url == "https://e.org/a.tgz"
    assert first.hash == _digest_sri("")
    assert second.url == "https://fallback.example/b.tgz"
    assert second.hash == "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


def test_lib_helpers_in_urls(tmp_path):
    package = _inline(
        tmp_path,
        """
        { lib, stdenv, fetchurl }:
        let
          version = "3.12.8";
          parts = lib.versions.splitVersion version;
        in
        stdenv.mkDerivation rec {
          pname = "helpers";
          inherit version;
          src = fetchurl {
            url = lib.concatStringsSep "/" [
              "https://e.org"
              (lib.versions.major version)
              (lib.versions.minor version)
              (lib.versions.patch version)
              (builtins.head parts)
              (builtins.elemAt parts 2)
              (lib.strings.removePrefix "v" "v${lib.versions.majorMinor version}")
              (lib.toLower "ABC")
              (builtins.substring 1 3 "abcdef")
              (lib.replaceStrings [ "." ] [ "-" ] version)
              (lib.optionalString stdenv.hostPlatform.isLinux "linux")
              ''
                indented''
            ];
            hash = "sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s";
          };
        }
        """,
    )
    (call,) = package.sources
    assert call.url == "https://e.org/3/12/8/3/8/3.12/abc/bcd/3-12-8/linux/indented"
    assert call.hash == "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="


def test_fetchers_in_mapped_functions_get_their_arguments(tmp_path):
    package = _inline(
        tmp_path,
        """
        { lib, stdenv, fetchurl, fetchpatch }:
        stdenv.mkDerivation {
          pname = "p";
          version = "1";
          src = ./.;
          patches = map (n: fetchpatch {
            url = "https://e.org/${n}.patch";
            hash = lib.fakeHash;
          }) [ "one" "two" ];
        }
        """,
    )
    assert [c.url for c in package.sources] == ["https://e.org/one.patch", "https://e.org/two.patch"]
    assert package.attrs["patches"] == ["https://e.org/one.patch", "https://e.org/two.patch"]
    assert package.attrs["src"] is None
    assert "src: local path ./." in package.notes


def test_fetcher_inside_uncalled_function_has_unresolved_parameters(tmp_path):
    package = _inline(
        tmp_path,
        """
        { fetchurl }:
        {
          mk = version: fetchurl {
            url = "https://e.org/${version}.tgz";
            hash = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
          };
        }
        """,
    )
    (call,) = package.sources
    assert call.unresolved == ("url",)
    assert call.hash == _digest_sri("")


def test_builtins_fetchers_and_string_argument(tmp_path):
    package = _inline(
        tmp_path,
        """
        {
          pname = "b";
          version = "1";
          src = builtins.fetchTarball "https://e.org/archive.tar.gz";
          git = builtins.fetchGit { url = "https://e.org/r.git"; rev = "abc"; };
        }
        """,
    )
    tarball, git = package.sources
    assert (tarball.fetcher, tarball.url, tarball.resolved) == ("builtins.fetchTarball", "https://e.org/archive.tar.gz", True)
    assert (git.fetcher, git.url, git.rev) == ("builtins.fetchGit", "https://e.org/r.git", "abc")


def test_invalid_hash_is_unresolved_not_dropped(tmp_path):
    package = _inline(
        tmp_path,
        '{ fetchurl }: { pname = "h"; src = fetchurl { url = "https://e.org/x"; sha256 = "not-a-hash"; }; }',
    )
    (call,) = package.sources
    assert call.unresolved == ("sha256",)
    assert call.hash is None


def test_trailing_comma_in_formals_is_no_syntax_error(tmp_path):
    package = _inline(tmp_path, '{ lib, fetchurl, }: { pname = "t"; src = fetchurl { url = "https://e.org/t"; }; }')
    assert package.notes == ()
    assert package.sources[0].url == "https://e.org/t"


def test_syntax_error_is_noted(tmp_path):
    package = _inline(tmp_path, '{ fetchurl }: { pname = "t"; src = fetchurl { url = "https://e.org/t"; }; = ; }')
    assert any(note.startswith("syntax error") for note in package.notes)


# ------------------------------------------------------------ files and root


def test_reads_are_confined_to_root(tmp_path):
    outside = tmp_path / "secret.json"
    outside.write_text('{"url": "https://leak.example/"}')
    pkg_dir = tmp_path / "repo" / "pkgs" / "x"
    pkg_dir.mkdir(parents=True)
    (pkg_dir / "link.json").symlink_to(outside)
    path = pkg_dir / "package.nix"
    path.write_text(
        """
        { fetchurl }:
        {
          pname = "x";
          a = fetchurl { url = (builtins.fromJSON (builtins.readFile ../../../secret.json)).url; };
          b = fetchurl { url = (builtins.fromJSON (builtins.readFile ./link.json)).url; };
          c = fetchurl { url = builtins.readFile /etc/hostname; };
        }
        """
    )
    package = read_package(path, path.read_bytes(), root=tmp_path / "repo")
    assert [c.unresolved for c in package.sources] == [("url",), ("url",), ("url",)]
    assert all(c.url is None for c in package.sources)
    assert any("outside the repository" in note for note in package.notes)
    # Without root, only the expression's own directory may be read.
    package = read_package(path, path.read_bytes())
    assert all(c.url is None for c in package.sources)


def test_files_below_root_are_read(tmp_path):
    (tmp_path / "pkgs").mkdir()
    (tmp_path / "pkgs" / "v.json").write_text('{"v": "9.9"}')
    path = tmp_path / "pkgs" / "package.nix"
    path.write_text('{ lib, fetchurl }: rec { pname = "r"; version = (lib.importJSON ./v.json).v; src = fetchurl { url = "https://e.org/${version}"; }; }')
    package = read_package(path, path.read_bytes(), root=tmp_path)
    assert package.version == "9.9"
    assert package.sources[0].url == "https://e.org/9.9"
    assert package.path == "pkgs/package.nix"


# ------------------------------------------------------------------- hostile


def _deep(open_: str, close: str, inner: str, depth: int = 10_000) -> str:
    return open_ * depth + inner + close * depth


HOSTILE = {
    "nested-parens": "{ fetchurl }: fetchurl { url = " + _deep("(", ")", '"x"') + "; }",
    "nested-lists": '{ fetchurl }: fetchurl { url = "https://e.org/"; extra = ' + _deep("[", "]", "") + "; }",
    "nested-sets": '{ fetchurl }: fetchurl { url = "https://e.org/"; extra = ' + _deep("{a=", ";}", "1") + "; }",
    "nested-lets": "{ fetchurl }: fetchurl { url = " + _deep("let a = ", "; in a", '"u"', 5_000) + "; }",
    "nested-lambdas": "{ fetchurl }: fetchurl { url = " + _deep("(x: ", ")", '"u"', 5_000) + " 1; }",
    "nested-interpolation": "{ fetchurl }: fetchurl { url = " + _deep('"${', '}"', '"x"', 3_000) + "; }",
    "nested-with": "{ fetchurl }: " + "with {}; " * 5_000 + "fetchurl { url = zzz; }",
    "long-select": "{ fetchurl }: fetchurl { url = let a = {}; in a" + ".a" * 5_000 + "; }",
    "long-sum": '{ fetchurl }: fetchurl { url = "a"' + ' + "a"' * 20_000 + "; }",
    "binding-chain": "{ fetchurl }: let "
    + "".join(f"a{i + 1} = a{i}; " for i in range(5_000))
    + 'a0 = "x"; in fetchurl { url = a5000; }',
    "huge-string": '{ fetchurl }: fetchurl { url = "' + "a" * 1_900_000 + '"; }',
    "huge-indented-string": "{ fetchurl }: fetchurl { url = ''\n" + "  a\n" * 450_000 + "''; }",
    "string-doubling": "{ fetchurl }: let "
    + "".join(f"s{i + 1} = s{i} + s{i}; " for i in range(64))
    + 's0 = "ab"; in fetchurl { url = s64; }',
    "list-doubling": "{ fetchurl }: let "
    + "".join(f"l{i + 1} = l{i} ++ l{i}; " for i in range(64))
    + 'l0 = [ "u" ]; in fetchurl { urls = l64; }',
    "replace-doubling": "{ fetchurl }: let "
    + "".join(f's{i + 1} = builtins.replaceStrings ["a"] ["aa"] s{i}; ' for i in range(64))
    + 's0 = "a"; in fetchurl { url = s64; }',
    "self-rec": "{ fetchurl }: fetchurl rec { url = url; hash = hash; }",
    "self-let": "{ fetchurl }: let x = x; in fetchurl { url = x; }",
    "mutual-let": "{ fetchurl }: let a = b; b = a; in fetchurl { url = a; }",
    "endless-function": "{ fetchurl }: let f = n: f (n + 1); in fetchurl { url = f 0; }",
    "exponential-function": '{ fetchurl }: let f = n: (f n) + (f n); in fetchurl { url = f "x"; }',
    "omega": "{ fetchurl }: fetchurl { url = (x: x x) (x: x x); }",
    "final-attrs-loop": "{ stdenv, fetchurl }: stdenv.mkDerivation (finalAttrs: finalAttrs // { src = fetchurl { url = finalAttrs.url; }; })",
    "deep-json": '{ fetchurl }: fetchurl { url = builtins.fromJSON "' + _deep("[", "]", "") + '"; }',
    "long-attrpath": '{ fetchurl }: fetchurl { url = "x"; ' + ".".join(["a"] * 5_000) + " = 1; }",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_is_unresolved_not_a_crash(name, tmp_path):
    source = HOSTILE[name].encode()
    started = time.monotonic()
    package = read_package(tmp_path / "package.nix", source, root=tmp_path)
    elapsed = time.monotonic() - started
    assert elapsed < HOSTILE_SECONDS, f"{name} took {elapsed:.1f}s"
    assert not [n for n in package.notes if n.startswith("static reading failed") or "too deeply to read" in n]
    assert package.sources, package.notes
    assert any(not call.resolved for call in package.sources)


def test_garbage_and_oversized_input(tmp_path):
    for source in (bytes(range(256)) * 200, b"", b"{ fetchurl }: fetchurl { url = \"abc", b"\xff\xfe" * 1000):
        package = read_package(tmp_path / "package.nix", source)
        assert package.sources == ()
        assert package.notes
    package = read_package(tmp_path / "package.nix", b" " * (3 * 1024 * 1024))
    assert package.sources == () and "larger than" in package.notes[0]


def test_step_budget_stops_evaluation(tmp_path):
    source = b"""{ fetchurl }:
    let f = n: if n == 0 then "x" else (f (n - 1)) + (f (n - 1)); in
    { pname = "b"; src = fetchurl { url = f 40; }; }"""
    started = time.monotonic()
    package = read_package(tmp_path / "package.nix", source)
    assert time.monotonic() - started < HOSTILE_SECONDS
    assert package.sources[0].unresolved == ("url",)
    assert any("steps" in note for note in package.notes)


def test_many_fetcher_calls_stay_bounded(tmp_path):
    calls = " ".join(f'(fetchurl {{ url = "https://e.org/{i}"; }})' for i in range(3000))
    started = time.monotonic()
    package = read_package(tmp_path / "package.nix", f"{{ fetchurl }}: [ {calls} ]".encode())
    assert time.monotonic() - started < HOSTILE_SECONDS
    assert len(package.sources) == 3000
    assert package.sources[-1].url == "https://e.org/2999"
