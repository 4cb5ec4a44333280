"""Data in and out of the static Nix evaluator: files read by the
expression (``readFile``, ``importJSON``...), JSON and TOML as Nix values,
and evaluated values as plain Python for the reader.

A mixin of :class:`~commitguard.nix.evaluator.Evaluator`. The expression is
untrusted: files are read only below the evaluator's ``root`` and only up
to ``MAX_READ_BYTES``, and data is converted only to ``MAX_DATA_DEPTH``.
"""

from __future__ import annotations

import os

from commitguard.nix.limits import MAX_DATA_DEPTH, MAX_READ_BYTES
from commitguard.nix.values import Attrs, External, FetcherValue, NixPath, Unresolved


class Data:
    """Files, data and conversion to Python."""

    def read_file(self, value) -> str | Unresolved:
        """A file's text, only below ``root`` and only small ones: the
        expression is untrusted and must not make us read ``/etc/shadow``
        or a multi-gigabyte file."""
        if isinstance(value, Unresolved):
            return value
        if isinstance(value, str) and value.startswith("/"):
            value = NixPath(value)
        if not isinstance(value, NixPath):
            return Unresolved(f"cannot read {self.type_name(value)} as a file")
        real = os.path.realpath(value.path)
        if os.path.commonpath([real, self.root]) != self.root:
            return Unresolved(f"{value.path} is outside the repository")
        if self.files is not None:  # a revision read from git, not from disk (see upstream.revision_read)
            data = self.files.read(real, MAX_READ_BYTES + 1)
            if data is None:
                return Unresolved(f"{self.display_path(value)} is not a file")
        else:
            try:
                if not os.path.isfile(real):
                    return Unresolved(f"{self.display_path(value)} is not a file")
                with open(real, "rb") as handle:
                    data = handle.read(MAX_READ_BYTES + 1)
            except OSError as exc:
                return Unresolved(f"cannot read {self.display_path(value)}: {exc.strerror}")
        if len(data) > MAX_READ_BYTES:
            return Unresolved(f"{self.display_path(value)} is larger than {MAX_READ_BYTES} bytes")
        if not self.charge(len(data) // 1024):
            return self._budget
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return Unresolved(f"{self.display_path(value)} is not UTF-8")

    def display_path(self, value: NixPath) -> str:
        rel = os.path.relpath(value.path, self.base_dir)
        return rel if rel.startswith("..") else "./" + rel

    def from_data(self, data, depth: int = 0):
        """JSON/TOML data as Nix values."""
        if depth > MAX_DATA_DEPTH:
            return Unresolved(f"data nested deeper than {MAX_DATA_DEPTH}")
        if not self.charge():
            return self._budget
        if isinstance(data, dict):
            if not (self.set_fits(len(data)) and self.build(cells=len(data))):
                return self._budget
            return Attrs({str(k): self.from_data(v, depth + 1) for k, v in data.items()})
        if isinstance(data, list):
            if not (self.list_fits(len(data)) and self.build(cells=len(data))):
                return self._budget
            return [self.from_data(v, depth + 1) for v in data]
        if isinstance(data, (str, bool, int, float)) or data is None:
            return data
        return str(data)  # TOML dates and times, as Nix's fromTOML gives them

    def to_python(self, value, depth: int = 0, fetcher_refs: bool = False):
        """A fully evaluated plain-Python copy of ``value``, or Unresolved.

        With ``fetcher_refs`` a fetcher result (``fetchCargoVendor { inherit
        src; }``) becomes ``{"fetcher": ..., "line": ...}``: it is reported as
        a call of its own, so naming it is enough to know what it is.
        """
        value = self.force(value)
        if depth > MAX_DATA_DEPTH:
            return Unresolved("value nested too deeply")
        if not self.charge():
            return self._budget
        if value is None or isinstance(value, (str, bool, int, float, Unresolved)):
            return value
        if isinstance(value, NixPath):
            return self.display_path(value)
        if isinstance(value, list):
            out = []
            for item in value:
                item = self.to_python(item, depth + 1, fetcher_refs)
                if isinstance(item, Unresolved):
                    return item
                out.append(item)
            return out
        if isinstance(value, Attrs):
            if value.incomplete:
                return Unresolved("set with dynamic attributes")
            out = {}
            for key, item in value.items.items():
                item = self.to_python(item, depth + 1, fetcher_refs)
                if isinstance(item, Unresolved):
                    return item
                out[key] = item
            return out
        if isinstance(value, External):
            return Unresolved(f"{value.path} is not known statically")
        if fetcher_refs and isinstance(value, FetcherValue):
            line = value.node.start_point[0] + 1 if value.node is not None else None
            return {"fetcher": value.fetcher, "line": line}
        return Unresolved(f"{self.type_name(value)} is not plain data")

