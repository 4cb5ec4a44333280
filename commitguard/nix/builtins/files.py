"""Builtins that read data and files: ``fromJSON``, ``fromTOML``,
``readFile``, ``importJSON``, ``importTOML``, ``fileContents``,
``baseNameOf``; ``import`` of Nix code is refused.

Reading goes through the evaluator's ``read_file``, which only reads small
files below the repository root: the expression is untrusted. Importing
another Nix file would evaluate code this reader has not been asked to
read, so it is :class:`Unresolved`.
"""

from __future__ import annotations

import json
import os
import tomllib
from typing import TYPE_CHECKING

from commitguard.nix.builtins.args import STRING, arg, checked
from commitguard.nix.values import NixPath, Unresolved

if TYPE_CHECKING:
    from commitguard.nix.evaluator import Evaluator


def _data_parser(what: str, language: str, loads):
    """``fromJSON``/``fromTOML``: the text parsed, as Nix values."""

    @checked(what, STRING)
    def parse(ev: Evaluator, s):
        try:
            data = loads(s)
        except RecursionError:
            return Unresolved(f"{language} nested too deeply")
        except ValueError as exc:  # json.JSONDecodeError, tomllib.TOMLDecodeError
            return Unresolved(f"invalid {language}: {exc}")
        return ev.from_data(data)

    return parse


from_json = _data_parser("fromJSON", "JSON", json.loads)
from_toml = _data_parser("fromTOML", "TOML", tomllib.loads)


def read_file(ev: Evaluator, p):
    return ev.read_file(ev.force(p))


def _data_importer(parse):
    """``importJSON``/``importTOML``: a file read, then parsed."""

    def import_data(ev: Evaluator, p):
        content = ev.read_file(ev.force(p))
        return content if isinstance(content, Unresolved) else parse(ev, content)

    return import_data


import_json = _data_importer(from_json)
import_toml = _data_importer(from_toml)


def file_contents(ev: Evaluator, p):
    """``lib.fileContents``: a file's text without its final newline."""
    content = ev.read_file(ev.force(p))
    if isinstance(content, Unresolved):
        return content
    return content[:-1] if content.endswith("\n") else content


def import_(ev: Evaluator, p):
    p = ev.force(p)
    if isinstance(p, Unresolved):
        return p
    return Unresolved("import of another Nix file")


def base_name_of(ev: Evaluator, s):
    s = ev.force(s)
    if isinstance(s, NixPath):
        return os.path.basename(s.path)
    s = arg(ev, s, STRING, "baseNameOf")
    return s if isinstance(s, Unresolved) else s.rstrip("/").rsplit("/", 1)[-1]
