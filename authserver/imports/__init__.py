"""Importing what HospiAI kept before HospiAI Connect (accounts, token records) from CSV or JSON
lines files: each row on its own, a bad row reported with its line number and skipped."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

Item = TypeVar("Item")

# A value longer than this is no name, email or identifier an application stores.
MAX_FIELD_CHARS = 320


class BadRow(ValueError):
    """A row that cannot be imported; the message says why, in the operator's words."""


@dataclass(frozen=True)
class Row:
    line: int
    fields: dict[str, object]

    def text(self, *names: str, required: bool = False) -> str:
        """The first of ``names`` the row has, as text ('' when absent); BadRow when required."""
        for name in names:
            value = self.fields.get(name)
            if value is None or value == "":
                continue
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise BadRow(f"{name} must be text")
            text = str(value).strip()
            if "\x00" in text or len(text) > MAX_FIELD_CHARS:
                raise BadRow(f"{name} is not a plausible value")
            return text
        if required:
            raise BadRow(f"{names[0]} is missing")
        return ""


@dataclass
class Report:
    """What a run did (or, dry, would do): counts by outcome, and the rows it refused."""

    counts: dict[str, int]
    refused: list[tuple[int, str]] = field(default_factory=list)

    def count(self, outcome: str) -> None:
        self.counts[outcome] += 1

    def refuse(self, line: int, reason: str) -> None:
        self.refused.append((line, reason))
        self.counts["rejected"] = len(self.refused)

    def summary(self) -> str:
        return ", ".join(f"{outcome}: {count}" for outcome, count in self.counts.items())


def read_rows(path: Path, report: Report) -> Iterator[Row]:
    """The rows of a CSV file (a header line naming the columns) or a JSON lines file (one
    object per line), by its name (.csv, .jsonl, .ndjson) or else its first character.
    A line that cannot be read is refused in ``report`` and the reading goes on."""
    with path.open(encoding="utf-8-sig", newline="") as file:
        text = file.read()
    suffix = path.suffix.lower()
    as_json = suffix in {".jsonl", ".ndjson", ".json"} or (
        suffix != ".csv" and text.lstrip().startswith("{")
    )
    yield from (_json_rows(text, report) if as_json else _csv_rows(text))


def read_items(
    path: Path, report: Report, read: Callable[[Row], Item], key: Callable[[Item], str],
    what: str,
) -> Iterator[Item]:
    """Each row as ``read`` makes it into an item; a row it refuses (BadRow, or the
    ProvisioningError of an account: ValueErrors both), or whose ``key`` an earlier row had,
    is refused in ``report`` by its line."""
    seen: dict[str, int] = {}
    for row in read_rows(path, report):
        try:
            item = read(row)
        except ValueError as error:
            report.refuse(row.line, str(error))
            continue
        first = seen.setdefault(key(item), row.line)
        if first != row.line:
            report.refuse(row.line, f"the same {what} as line {first}")
            continue
        yield item


def _json_rows(text: str, report: Report) -> Iterator[Row]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            fields = json.loads(line)
        except (ValueError, RecursionError):
            report.refuse(number, "not a JSON object")
            continue
        if not isinstance(fields, dict):
            report.refuse(number, "not a JSON object")
            continue
        yield Row(number, fields)


def _csv_rows(text: str) -> Iterator[Row]:
    reader = csv.DictReader(text.splitlines(keepends=True))
    start = 2
    for fields in reader:
        # A quoted value may span lines: a row is numbered by the line it starts on.
        line, start = start, reader.line_num + 1
        yield Row(line, {name.strip(): value for name, value in fields.items() if name})
