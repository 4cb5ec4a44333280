"""Property tests (hypothesis) of the closure readers: what a hostile SBOM, derivation JSON or .drv holds.

* the ``.drv`` reader: any text is a derivation or an ``ATermError``; a
  derivation written out here from its parts (outputs, inputs, sources, env,
  with every character ATerm must escape) reads back as those parts;
* the derivation JSON reader: any JSON value gives derivations or one
  ``CommitguardError`` line naming the file, never another exception.

Expectations are computed here from the generated parts, not by the code
under test.
"""

from __future__ import annotations

import base64
import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from commitguard.closure.aterm import ATermError, parse_drv
from commitguard.closure.derivation_json import read_derivation_json
from commitguard.errors import CommitguardError

NIX32 = "0123456789abcdfghijklmnpqrsvwxyz"
store_hash = st.text(alphabet=NIX32, min_size=32, max_size=32)
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-._+", min_size=1, max_size=20)
values = st.text(max_size=40)


def aterm_string(text: str) -> str:
    """Nix's escaping of a string in a .drv (printString: \\ " \\n \\r \\t)."""
    out = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{out}"'


def aterm_list(items) -> str:
    return "[" + ",".join(items) + "]"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_a_derivation_or_an_aterm_error(text):
    try:
        parse_drv(text)
    except ATermError:
        pass


@settings(max_examples=200, deadline=None)
@given(name=names, h=store_hash, fixed=st.booleans(), recursive=st.booleans(),
       inputs=st.lists(st.tuples(store_hash, names), max_size=4, unique=True),
       sources=st.lists(st.tuples(store_hash, names), max_size=3, unique=True),
       env=st.dictionaries(st.text(alphabet="abcdefgh", min_size=1, max_size=6), values, max_size=5),
       data=st.binary(min_size=8, max_size=8))
def test_a_written_derivation_reads_back(name, h, fixed, recursive, inputs, sources, env, data):
    digest = hashlib.sha256(data).digest()
    out = f"/nix/store/{h}-{name}"
    algo = ("r:sha256" if recursive else "sha256") if fixed else ""
    env = {**env, "name": name, "out": out}
    input_paths = [f"/nix/store/{ih}-{iname}.drv" for ih, iname in inputs]
    source_paths = [f"/nix/store/{sh}-{sname}" for sh, sname in sources]
    text = ("Derive(" + aterm_list([f'("out",{aterm_string(out)},"{algo}","{digest.hex() if fixed else ""}")']) + ","
            + aterm_list([f"({aterm_string(p)},[\"out\"])" for p in input_paths]) + ","
            + aterm_list([aterm_string(p) for p in source_paths]) + ',"x86_64-linux","/bin/sh",'
            + aterm_list([aterm_string("-c"), aterm_string("exit 1")]) + ","
            + aterm_list([f"({aterm_string(k)},{aterm_string(v)})" for k, v in sorted(env.items())]) + ")")
    drv = parse_drv(text, f"/nix/store/{h}-{name}.drv")
    assert drv.name == name and drv.outputs == (out,)
    assert drv.inputs == tuple(input_paths) and drv.input_sources == tuple(source_paths)
    if fixed:
        assert drv.output_hash == "sha256-" + base64.b64encode(digest).decode()
        assert drv.output_hash_mode == ("recursive" if recursive else "flat")
    else:
        assert drv.output_hash is None


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                        max_size=4),
                           max_leaves=30)
drv_keys = st.builds(lambda h, n: f"/nix/store/{h}-{n}.drv", store_hash, names)


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_values, st.dictionaries(drv_keys, json_values, max_size=3),
                 st.dictionaries(drv_keys, st.fixed_dictionaries({}, optional={
                     "outputs": st.dictionaries(st.sampled_from(["out", "dev"]), json_values, max_size=2),
                     "env": json_values, "inputDrvs": json_values, "inputSrcs": json_values, "name": json_values}),
                     max_size=3)))
def test_derivation_json_gives_derivations_or_one_line_naming_the_file(data):
    try:
        read_derivation_json(data, "closure.json")
    except CommitguardError as exc:
        message = str(exc)
        assert message.startswith("closure.json: ") and "\n" not in message
