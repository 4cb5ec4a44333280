"""``mirror://NAME/PATH`` URLs of nixpkgs' fetchurl, expanded without Nix.

The table is the first URL of each list in nixpkgs'
``pkgs/build-support/fetchurl/mirrors.nix``: fetchurl tries that one first,
so it is the URL a reader of the expression (and an upstream check) should
look at. It is built in rather than read from a checkout because the
expression under review may come from a repository whose own mirrors file
is not at hand, or is itself part of the change under review.
"""

from __future__ import annotations

MIRRORS: dict[str, str] = {
    "alsa": "https://www.alsa-project.org/files/pub/",
    "apache": "https://dlcdn.apache.org/",
    "bioc": "https://bioconductor.statistik.tu-dortmund.de/packages/",
    "bitlbee": "https://get.bitlbee.org/",
    "centos": "https://vault.centos.org/",
    "cpan": "https://cpan.metacpan.org/",
    "cran": "https://cran.r-project.org/src/contrib/",
    "debian": "https://httpredir.debian.org/debian/",
    "dub": "https://code.dlang.org/packages/",
    "fedora": "https://archives.fedoraproject.org/pub/fedora/",
    "gcc": "https://mirror.koddos.net/gcc/",
    "gentoo": "https://ftp.snt.utwente.nl/pub/os/linux/gentoo/",
    "gnome": "https://download.gnome.org/",
    # SPEC's example expands mirror://gnu to the primary site, not nixpkgs'
    # first (redirecting) entry: an offline mirror keyed by host is stable that way.
    "gnu": "https://ftp.gnu.org/gnu/",
    "gnupg": "https://gnupg.org/ftp/gcrypt/",
    "hackage": "https://hackage.haskell.org/package/",
    "ibiblioPubLinux": "https://www.ibiblio.org/pub/Linux/",
    "imagemagick": "https://www.imagemagick.org/download/",
    "kde": "https://download.kde.org/",
    "kernel": "https://cdn.kernel.org/pub/",
    "luarocks": "https://luarocks.org/",
    "maven": "https://repo1.maven.org/maven2/",
    "mozilla": "https://download.cdn.mozilla.net/pub/mozilla.org/",
    "mysql": "https://cdn.mysql.com/Downloads/",
    "openbsd": "https://ftp.openbsd.org/pub/OpenBSD/",
    "opensuse": "https://opensuse.hro.nl/opensuse/distribution/",
    "osdn": "https://osdn.dl.osdn.jp/",
    "postgresql": "https://ftp.postgresql.org/pub/",
    "pypi": "https://files.pythonhosted.org/packages/source/",
    "qt": "https://download.qt.io/",
    "sageupstream": "https://sagemath.mirror.ac.za/spkg/upstream/",
    "samba": "https://download.samba.org/pub/",
    "savannah": "https://download.savannah.gnu.org/releases/",
    "sourceforge": "https://downloads.sourceforge.net/",
    "steamrt": "https://repo.steampowered.com/steamrt/",
    "tcsh": "https://astron.com/pub/tcsh/",
    "testpypi": "https://test.pypi.io/packages/source/",
    "ubuntu": "https://nl.archive.ubuntu.com/ubuntu/",
    "xfce": "https://archive.xfce.org/",
    "xorg": "https://xorg.freedesktop.org/releases/",
}


def expand(url: str) -> str:
    """The concrete URL for a ``mirror://`` URL whose mirror is known;
    anything else unchanged (an unknown mirror stays visibly ``mirror://``
    rather than being pointed at a made-up host)."""
    if not url.startswith("mirror://"):
        return url
    name, sep, rest = url[len("mirror://") :].partition("/")
    base = MIRRORS.get(name)
    if base is None or not sep:
        return url
    return base + rest

