"""Where a source's URL is read: parsed once (``upstream.urls``), its files found in order (``upstream.mirror``).

Matching a source to ``[[upstream]]`` entries and finding it in the mirror
share one parser; these pin the cases where they must still differ (a
malformed port spoils a place in the mirror, not a GitHub identity) and the
order in which a fetcher's URLs are tried.
"""

from __future__ import annotations

from commitguard.model.sources import FetcherCall
from commitguard.upstream import mirror
from commitguard.upstream.matching import identity, release_urls, url_prefix_matches
from commitguard.upstream.urls import split_url


def test_split_url_lower_cases_the_host_and_reads_the_port_only_when_asked():
    parts, host, port = split_url("HTTPS://GitHub.COM:8443/Owner/Repo")
    assert (parts.scheme, host, port, parts.path) == ("https", "github.com", None, "/Owner/Repo")
    assert split_url("https://GitHub.COM:8443/x", port=True)[1:] == ("github.com", 8443)


def test_a_bad_port_spoils_a_place_but_not_an_identity():
    url = "https://github.com:99999/owner/repo"
    assert split_url(url) is not None and split_url(url, port=True) is None
    assert mirror.url_location(url) is None
    assert not url_prefix_matches("https://github.com/", url)
    assert identity(FetcherCall("fetchurl", url=url)).github == "owner/repo"


def test_an_unparsable_url_names_nothing():
    url = "https://[not-an-ipv6/owner/repo"
    assert split_url(url) is None
    assert mirror.url_location(url) is None
    assert identity(FetcherCall("fetchurl", url=url)).github is None


def test_release_urls_keep_the_fetchers_order_once_each():
    call = FetcherCall("fetchurl", url="https://a.example/f", urls=("https://a.example/f", "", "https://b.example/f"))
    assert release_urls(call) == ["https://a.example/f", "https://b.example/f"]
    assert release_urls(FetcherCall("fetchurl")) == []


def test_first_file_is_the_first_url_the_mirror_holds(tmp_path):
    for host in ("b.example", "c.example"):
        (tmp_path / host).mkdir()
        (tmp_path / host / "f.tar").write_bytes(b"x")
    urls = ["https://a.example/f.tar", "https://c.example/f.tar", "https://b.example/f.tar"]
    assert mirror.first_file(tmp_path, urls) == ("https://c.example/f.tar", tmp_path / "c.example" / "f.tar")
    assert mirror.first_file(tmp_path, urls[:1]) is None
    assert mirror.first_file(tmp_path, ["https://b.example/../c.example/f.tar"]) is None
