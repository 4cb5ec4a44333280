"""GnuPG's second opinion runs in a throwaway home and leaves no daemon behind."""

from __future__ import annotations

import subprocess

from commitguard.signatures.gnupg_opinion import GnuPGOpinion
from tests.fixtures_git import Gpg


def test_second_opinion_starts_no_agent(tmp_path):
    gpg = Gpg(tmp_path / "gnupg", tmp_path)
    fpr = gpg.gen_key("Alice <alice@example.org>", "ed25519", "sign")
    cert = gpg.gpg("--export", "--armor", fpr).stdout
    signature = gpg.gpg("--detach-sign", "--armor", "-u", fpr, input=b"payload\n").stdout
    gpg.kill_agent()  # the signer's own agent, not the one under test
    opinion = GnuPGOpinion([cert])
    good = opinion.judge(signature, b"payload\n")
    bad = opinion.judge(signature, b"other\n")
    assert good.available and good.good and good.key_fingerprint == fpr
    assert bad.available and not bad.good
    home = opinion._home
    assert home is not None
    agents = subprocess.run(["pgrep", "-f", f"gpg-agent --homedir {home}"], capture_output=True, text=True)
    assert agents.stdout.strip() == "", f"gpg-agent left running for {home}"
