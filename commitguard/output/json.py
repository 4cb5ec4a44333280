"""JSON: the stable, scriptable form (SPEC lists the keys scripts rely on)."""

from __future__ import annotations

import json

from commitguard.model import VerifyReport
from commitguard.output.interface import Formatter


class JsonFormatter(Formatter):
    name = "json"

    def verify(self, report: VerifyReport) -> str:
        return json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"
