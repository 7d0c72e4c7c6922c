"""``esimdesk usage import FILE``: charge a CDR file (CSV) of usage records.

The header must be ``id,iccid,kind,quantity,occurred_at``. The file is read in chunks, so
memory stays flat whatever its size; each chunk is one ``usage.services.ingest`` call (one
transaction). Re-running the same file is safe: records already stored under the same
``--source`` are counted as duplicates and charge nothing.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from esimdesk.usage import services

HEADER = ["id", "iccid", "kind", "quantity", "occurred_at"]
CHUNK = 10_000


def _rows(reader: Iterator[list[str]]) -> Iterator[dict[str, Any]]:
    for row in reader:
        if not row:
            continue
        record: dict[str, Any] = dict(zip(HEADER, (c.strip() for c in row), strict=False))
        quantity = record.get("quantity", "")
        # CSV has no types: a plain digit string is the integer; anything else stays a
        # string and is rejected as invalid_quantity.
        if isinstance(quantity, str) and quantity.isdigit():
            record["quantity"] = int(quantity)
        yield record


class Command(BaseCommand):
    help = "Import usage records from a CSV file (id,iccid,kind,quantity,occurred_at)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--source", default="cdr",
                            help="source the record ids are unique in (default: cdr)")
        parser.add_argument("--show-rejected", type=int, default=20,
                            help="print at most this many rejected lines")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        totals = {"read": 0, "accepted": 0, "duplicates": 0, "rejected": 0}
        shown = 0
        try:
            handle = path.open(newline="", encoding="utf-8-sig")
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error.strerror}") from None
        with handle:
            try:
                reader = csv.reader(handle)
                header = [h.strip().lower() for h in next(reader, [])]
                if header != HEADER:
                    raise CommandError(f"{path}: the header must be {','.join(HEADER)}")
                rows = _rows(reader)
                while True:
                    chunk = [row for _, row in zip(range(CHUNK), rows, strict=False)]
                    if not chunk:
                        break
                    result = services.ingest(source=options["source"], records=chunk)
                    for index, code in result.rejected:
                        if shown < options["show_rejected"]:
                            # +2: the header is line 1 and indexes count from 0.
                            line = totals["read"] + index + 2
                            sys.stderr.write(f"line {line}: {code}\n")
                            shown += 1
                    totals["read"] += len(chunk)
                    totals["accepted"] += result.accepted
                    totals["duplicates"] += result.duplicates
                    totals["rejected"] += len(result.rejected)
                    sys.stderr.write(f"{totals['read']} records read, "
                                     f"{totals['accepted']} accepted\n")
            except (csv.Error, UnicodeDecodeError) as error:
                raise CommandError(f"{path}: not a readable CSV file ({error})") from None
        self.stdout.write(f"read {totals['read']}, accepted {totals['accepted']}, "
                          f"duplicates {totals['duplicates']}, "
                          f"rejected {totals['rejected']}")
