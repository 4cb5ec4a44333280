"""In-process unit tests of the static Nix evaluator's modules.

The other Nix tests go through ``read_package``; these import the pieces
directly (values, the evaluator core, builtins and their argument checks,
the limits' accounting) and pin what each promises: a value that cannot be
known is :class:`Unresolved` with a reason that says why, never a guess, and
every limit stops evaluation with the reason the reader reports.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from commitguard.nix import limits
from commitguard.nix.builtins import BUILTINS
from commitguard.nix.builtins.args import INT, SET, STRING, arg, checked
from commitguard.nix.evaluator import Evaluator
from commitguard.nix.limits import Limits
from commitguard.nix.packageset import GIT_FORGES, is_builder_name, is_fetcher_name
from commitguard.nix.parser import callee_path, parse
from commitguard.nix.values import (
    Attrs,
    Derivation,
    External,
    NixPath,
    Thunk,
    Unresolved,
    is_number,
    type_name,
)
from commitguard.nix.versions import compare_versions, parse_drv_name, split_version


def _evaluator(tmp_path: Path, text: str, **kwargs) -> Evaluator:
    source = text.encode()
    return Evaluator(source, parse(source), tmp_path / "default.nix", root=tmp_path, **kwargs)


def _run(tmp_path: Path, text: str, **kwargs):
    """The file's value as plain Python (or Unresolved), and the evaluator."""
    ev = _evaluator(tmp_path, text, **kwargs)
    return ev.to_python(ev.evaluate_file()), ev


def value_of(tmp_path: Path, text: str, **kwargs):
    return _run(tmp_path, text, **kwargs)[0]


def reason_of(tmp_path: Path, text: str, **kwargs) -> str:
    value = value_of(tmp_path, text, **kwargs)
    assert isinstance(value, Unresolved), value
    return value.reason


# ---------------------------------------------------------------------- values


def test_type_names_name_every_kind_of_value():
    assert [type_name(v) for v in (True, 1, 1.5, "s", None, [], Attrs({}))] == [
        "a Boolean", "an integer", "a float", "a string", "null", "a list", "a set"]
    assert type_name(NixPath("/x")) == "a path"
    assert type_name(External("stdenv.cc")) == "stdenv.cc"
    assert type_name(Derivation("mkDerivation", None, None)) == "a mkDerivation result"
    assert type_name(Unresolved("why")) == "an unresolved value"
    assert Evaluator.type_name(3) == "an integer"


def test_booleans_are_not_numbers():
    assert is_number(1) and is_number(1.0)
    assert not is_number(True)
    assert not is_number("1")


def test_a_thunk_is_evaluated_once_and_self_reference_is_unresolved(tmp_path):
    ev = _evaluator(tmp_path, "null")
    calls = []
    thunk = Thunk(fn=lambda: calls.append(1) or 42)
    assert ev.force(thunk) == 42
    assert ev.force(thunk) == 42
    assert calls == [1]
    loop = Thunk(fn=lambda: ev.force(loop))
    assert ev.force(loop).reason == "infinite recursion"


# ------------------------------------------------------------------- evaluator


def test_arithmetic_follows_nix(tmp_path):
    assert value_of(tmp_path, "let a = 2; in a * 3 + 1") == 7
    assert value_of(tmp_path, "(0 - 7) / 2") == -3  # truncates toward zero, like Nix
    assert reason_of(tmp_path, "9223372036854775807 + 1") == "integer overflow"
    assert reason_of(tmp_path, "1 / 0") == "division by zero"
    assert reason_of(tmp_path, '1 + "a"') == "operator + on an integer, a string"


def test_attribute_sets_rec_inherit_and_paths(tmp_path):
    text = """
      let src = { owner = "o"; repo = "r"; }; in
      rec { version = "1.2"; name = "p-${version}"; inherit (src) owner; a.b = 1; a.c = 2; }
    """
    assert value_of(tmp_path, text) == {"version": "1.2", "name": "p-1.2", "owner": "o", "a": {"b": 1, "c": 2}}


def test_a_name_bound_twice_is_unresolved_not_the_last_one(tmp_path):
    assert reason_of(tmp_path, "{ a = 1; a = 2; }.a") == "attribute 'a' defined more than once"
    assert reason_of(tmp_path, "{ a = 1; a.b = 2; }.a") == "attribute 'a' defined both whole and by path"


def test_select_with_default_and_has_attr(tmp_path):
    assert value_of(tmp_path, '{ a = 1; }.b or "d"') == "d"
    assert value_of(tmp_path, "{ a.b = 1; } ? a.b") is True
    assert value_of(tmp_path, "{ a = 1; } ? a.b") is False
    assert reason_of(tmp_path, "{ a = 1; }.b") == "attribute 'b' missing"
    assert reason_of(tmp_path, "{ a = 1; }.a.b") == "cannot select 'b' from an integer"
    assert reason_of(tmp_path, "{ a = 1; }.${null}") == "attribute name is null"


def test_indented_strings_lose_their_common_indentation(tmp_path):
    text = "let x = \"X\"; in ''\n    one\n      ${x}two\n    three\n  ''"
    assert value_of(tmp_path, text) == "one\n  Xtwo\nthree\n"


def test_what_the_package_set_provides_stays_unresolved(tmp_path):
    assert reason_of(tmp_path, "{ lib }: lib.someFunction 1") == (
        "call to lib.someFunction, which is not known statically")
    assert reason_of(tmp_path, '{ stdenv }: "${stdenv.cc}"') == "stdenv.cc is not known statically"
    assert reason_of(tmp_path, "{ pkgs }: if pkgs.foo then 1 else 2") == "condition pkgs.foo is not known statically"


def test_platform_attributes_follow_the_system(tmp_path):
    text = '{ lib, stdenv }: lib.optionalString stdenv.hostPlatform.isLinux "linux"'
    assert value_of(tmp_path, text) == "linux"
    assert value_of(tmp_path, text, system="aarch64-darwin") == ""


def test_a_failing_assertion_or_throw_is_unresolved(tmp_path):
    assert reason_of(tmp_path, "assert 1 == 2; 3") == "assertion failed"
    assert reason_of(tmp_path, 'throw "nope"') == "throw: nope"


# -------------------------------------------------------------------- builtins


@pytest.mark.parametrize(("text", "expected"), [
    ('builtins.replaceStrings ["a" "b"] ["1" "2"] "abc"', "12c"),
    ('builtins.replaceStrings [""] ["-"] "ab"', "-a-b-"),
    ('lib.concatMapStringsSep "," (x: x + "!") ["a" "b"]', "a!,b!"),
    ('lib.removePrefix "v" "v1.0"', "1.0"),
    ('builtins.substring 1 2 "abcd"', "bc"),
    ('lib.toUpper "abc"', "ABC"),
    ('lib.versions.majorMinor "1.2.3"', "1.2"),
    ('lib.versions.pad 3 "1"', "1.0.0"),
    ('lib.versionOlder "1.9" "1.10"', True),
    ('builtins.attrNames { b = 1; a = 2; }', ["a", "b"]),
    ('builtins.listToAttrs [ { name = "a"; value = 1; } { name = "a"; value = 2; } ]', {"a": 1}),
    ('builtins.mapAttrs (k: v: k + v) { a = "1"; }', {"a": "a1"}),
    ('lib.genAttrs ["x"] (n: n + n)', {"x": "xx"}),
    ('lib.optional false (throw "not forced")', []),
    ('builtins.elemAt [1 2 3] 2', 3),
    ('builtins.isString "s"', True),
])
def test_builtins(tmp_path, text, expected):
    assert value_of(tmp_path, "{ lib, stdenv }: " + text) == expected


@pytest.mark.parametrize(("text", "reason"), [
    ('builtins.substring "a" 1 "abc"', "substring expects an integer, got a string"),
    ('lib.hasPrefix 1 "abc"', "hasPrefix expects a string, got an integer"),
    ("builtins.length { }", "length expects a list, got a set"),
    ('builtins.attrNames "x"', "attrNames expects a set, got a string"),
    ('lib.optionalString 1 "x"', "optionalString expects a Boolean, got an integer"),
    # An external value is unknown, not of the wrong type (but integers say what they got).
    ("builtins.length stdenv.srcs", "stdenv.srcs is not known statically"),
    ("builtins.isString stdenv", "stdenv is not known statically"),
    ("builtins.elemAt [ 1 ] stdenv.n", "elemAt expects an integer, got stdenv.n"),
    # The first argument that cannot be used is the one reported.
    ('builtins.substring stdenv.a "b" 1', "substring expects an integer, got stdenv.a"),
    ('builtins.replaceStrings ["a"] ["b" "c"] "a"', "replaceStrings lists of different lengths"),
    ('builtins.replaceStrings [1] ["b"] "a"', "replaceStrings expects a string, got an integer"),
    ('lib.versions.patch "1.2"', "versions.patch of version '1.2': too few components"),
    ('lib.splitString "" "abc"', "splitString with an empty separator"),
    ("builtins.head [ ]", "head of an empty list"),
    ('builtins.fromJSON "{"', "invalid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
    ('builtins.import ./other.nix', "import of another Nix file"),
])
def test_builtins_refuse_bad_arguments_with_a_reason(tmp_path, text, reason):
    assert reason_of(tmp_path, "{ lib, stdenv }: " + text) == reason


def test_an_unresolved_argument_keeps_its_own_reason(tmp_path):
    assert reason_of(tmp_path, '{ lib }: lib.toLower (throw "why")') == "throw: why"


def test_arg_reads_a_derivation_as_its_attributes(tmp_path):
    ev = _evaluator(tmp_path, "null")
    drv = Derivation("mkDerivation", Attrs({"pname": "p"}), None)
    assert arg(ev, drv, SET, "f").items == {"pname": "p"}
    assert arg(ev, drv, STRING, "f").reason == "f expects a string, got a mkDerivation result"
    assert arg(ev, True, INT, "f").reason == "f expects an integer, got a Boolean"


def test_checked_refuses_a_builtin_whose_arity_does_not_match_its_kinds():
    with pytest.raises(TypeError):
        checked("f", STRING)(lambda ev, a, b: a)


def test_every_builtin_is_callable_with_its_arity():
    for name, (arity, impl) in BUILTINS.items():
        assert 1 <= arity <= 3, name
        assert callable(impl), name


def test_version_functions_follow_nix():
    assert split_version("1.2pre3-rc") == ["1", "2", "pre", "3", "rc"]
    assert compare_versions("1.0pre1", "1.0") == -1
    assert compare_versions("1.10", "1.9") == 1
    assert compare_versions("2.0", "2.0") == 0
    assert parse_drv_name("hello-2.12.1") == ("hello", "2.12.1")
    assert parse_drv_name("foo-bar") == ("foo-bar", "")


# ----------------------------------------------------------------------- files


def test_files_are_read_only_below_the_root(tmp_path):
    (tmp_path / "data.json").write_text('{"version": "1.0", "list": [1, 2]}')
    assert value_of(tmp_path, "builtins.fromJSON (builtins.readFile ./data.json)") == {
        "version": "1.0", "list": [1, 2]}
    assert value_of(tmp_path, "{ lib }: (lib.importJSON ./data.json).version") == "1.0"
    assert reason_of(tmp_path, 'builtins.readFile "/etc/passwd"') == "/etc/passwd is outside the repository"
    assert reason_of(tmp_path, "builtins.readFile ./missing") == "./missing is not a file"


def test_a_file_over_the_read_limit_is_not_read(tmp_path):
    (tmp_path / "big").write_bytes(b"x" * (limits.MAX_READ_BYTES + 1))
    assert reason_of(tmp_path, "builtins.readFile ./big") == f"./big is larger than {limits.MAX_READ_BYTES} bytes"


# ---------------------------------------------------------------------- limits


def _accounting(max_steps: int = 100) -> Limits:
    lim = Limits()
    lim._init_limits(max_steps)
    return lim


def test_limits_stop_for_good_and_keep_the_first_reason():
    lim = _accounting(10)
    assert lim.charge(10)
    assert lim.limit_note() is None
    assert not lim.charge()
    assert lim.limit_reason == "more than 10 evaluation steps"
    assert not lim.string_fits(1)  # once stopped, everything says no
    lim.stop("another reason")
    assert lim.limit_reason == "more than 10 evaluation steps"
    assert lim.limit_note() == limits.note("more than 10 evaluation steps")
    assert lim._budget is lim._budget
    assert lim._budget.reason == "evaluation limit: more than 10 evaluation steps"


@pytest.mark.parametrize(("check", "limit", "reason"), [
    ("string_fits", limits.MAX_STRING, "a string of more than 1,048,576 characters"),
    ("list_fits", limits.MAX_COLLECTION, "a list of more than 100,000 elements"),
    ("set_fits", limits.MAX_COLLECTION, "a set of more than 100,000 attributes"),
    ("path_fits", limits.MAX_ATTRPATH, "an attribute path of more than 1,000 components"),
])
def test_size_checks_allow_the_limit_and_stop_past_it(check, limit, reason):
    lim = _accounting()
    assert getattr(lim, check)(limit)
    assert not lim.exhausted
    assert not getattr(lim, check)(limit + 1)
    assert lim.limit_reason == reason


def test_built_cells_and_characters_are_counted():
    lim = _accounting()
    assert lim.build(cells=limits.MAX_BUILT_CELLS)
    assert not lim.build(cells=1)
    assert lim.limit_reason == "more than 1,000,000 list elements and attributes built"
    lim = _accounting()
    assert not lim.build(chars=limits.MAX_BUILT_CHARS + 1)
    assert lim.limit_reason == "more than 16,777,216 string characters built"


def test_the_step_limit_stops_evaluation_with_the_note(tmp_path):
    value, ev = _run(tmp_path, "let f = n: if n == 0 then 0 else f (n - 1); in f 1000", max_steps=500)
    assert isinstance(value, Unresolved)
    assert value.reason == "evaluation limit: more than 500 evaluation steps"
    assert ev.limit_note() == limits.note("more than 500 evaluation steps")


def test_a_string_doubled_past_its_limit_stops_evaluation(tmp_path):
    levels = "; ".join(f"s{i} = s{i - 1} + s{i - 1}" for i in range(1, 18))
    value, ev = _run(tmp_path, f'let s0 = "0123456789abcdef"; {levels}; in s17')
    assert value.reason == "evaluation limit: a string of more than 1,048,576 characters"
    assert ev.chars <= limits.MAX_BUILT_CHARS + limits.MAX_STRING


def test_a_list_grown_past_its_limit_stops_evaluation(tmp_path):
    levels = "; ".join(f"l{i} = l{i - 1} ++ l{i - 1}" for i in range(1, 18))
    value, _ = _run(tmp_path, f"let l0 = [ 1 ]; {levels}; in builtins.length l17")
    assert value.reason == "evaluation limit: a list of more than 100,000 elements"


def test_a_long_attribute_path_stops_evaluation(tmp_path):
    path = ".".join(["a"] * (limits.MAX_ATTRPATH + 1))
    value, _ = _run(tmp_path, f"{{ x = 1; }}.{path}")
    assert value.reason == "evaluation limit: an attribute path of more than 1,000 components"


def test_deep_nesting_is_unresolved_where_it_is_deep_without_stopping(tmp_path):
    depth = limits.MAX_DEPTH + 10
    value, ev = _run(tmp_path, "{ deep = " + "(" * depth + "1" + ")" * depth + "; shallow = 2; }.shallow")
    assert value == 2
    value, ev = _run(tmp_path, "(" * depth + "1" + ")" * depth)
    assert value.reason == f"expression nested deeper than {limits.MAX_DEPTH} evaluation levels"
    assert not ev.exhausted


# ------------------------------------------------------------ names and syntax


def test_fetcher_and_builder_names():
    assert is_fetcher_name("pkgs.fetchurl") == "fetchurl"
    assert is_fetcher_name("python3Packages.fetchPypi") == "fetchPypi"
    assert is_fetcher_name("builtins.fetchGit") == "builtins.fetchGit"
    assert is_fetcher_name("lib.fetchurl") is None
    assert is_fetcher_name("builtins.toString") is None
    assert is_builder_name("stdenv.mkDerivation") == "mkDerivation"
    assert is_builder_name("python3Packages.buildPythonPackage") == "buildPythonPackage"
    assert is_builder_name("lib.mkDerivation") is None
    assert GIT_FORGES == {"fetchFromGitHub", "fetchFromGitLab", "fetchFromGitea", "fetchFromCodeberg",
                          "fetchFromSourcehut", "fetchFromBitbucket"}


@pytest.mark.parametrize(("text", "expected"), [
    ("fetchurl { }", "fetchurl"),
    ("pkgs.fetchurl { }", "pkgs.fetchurl"),
    ("python3Packages.fetchPypi { }", "python3Packages.fetchPypi"),
    ("(f x) { }", None),
    ("a.${b} { }", None),
    ("a.b or c { }", None),
])
def test_callee_path_names_plain_callees_only(text, expected):
    source = text.encode()
    call = parse(source).root_node.named_children[0]
    assert call.type == "apply_expression"
    assert callee_path(call.child_by_field_name("function"), source) == expected
