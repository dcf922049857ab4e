"""The documents in an uploaded text file: one a line, a CSV column or a JSONL key.

    documents, source = read_documents(ref, column)   # [(line number, text), ...], "column 'body'"

With no column named, a CSV's text is its `text` column, else the column whose values are the
longest words rather than numbers (an `id` column beside a `body` one is never taken for it).
"""

from __future__ import annotations

import csv
import io
import json

from jobs import open_upload

MAX_DOCUMENTS = 50_000
SAMPLE_ROWS = 200  # rows read to tell which column holds the text


def _kind(name: str, content_type: str) -> str:
    lowered = name.lower()
    if lowered.endswith((".csv", ".tsv")) or content_type in ("text/csv", "text/tab-separated-values"):
        return "csv"
    if lowered.endswith((".jsonl", ".ndjson")) or content_type in ("application/jsonl", "application/x-ndjson"):
        return "jsonl"
    return "lines"


def _numeric(value: str) -> bool:
    try:
        float(value.replace(",", ""))
    except ValueError:
        return False
    return True


def text_column(header: list[str], rows: list[dict]) -> str:
    """The column that holds the text: `text` if there is one, else the longest words on average."""
    if "text" in header:
        return "text"

    def wordiness(column: str) -> float:
        values = [v.strip() for row in rows[:SAMPLE_ROWS] if (v := row.get(column) or "").strip()]
        words = [v for v in values if not _numeric(v)]
        return sum(map(len, words)) / len(values) if values else 0.0

    return max(header, key=wordiness)  # the first of equals, so a file of numbers reads its first column


def _from_csv(text: str, name: str, column: str) -> tuple[list[tuple[int, str]], str]:
    reader = csv.DictReader(io.StringIO(text), delimiter="\t" if name.lower().endswith(".tsv") else ",")
    header = reader.fieldnames or []
    if not header:
        raise ValueError("The CSV file has no header row.")
    if column and column not in header:
        raise ValueError(f"The CSV file has no column {column!r}; its columns are {', '.join(header)}.")
    rows = list(reader)
    chosen = column or text_column(header, rows)
    return [(number, row.get(chosen) or "") for number, row in enumerate(rows, start=1)], chosen


def _from_jsonl(text: str, key: str) -> list[tuple[int, str]]:
    documents = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise ValueError(f"Line {number} of the JSONL file is not valid JSON.") from None
        if isinstance(record, str):
            documents.append((number, record))
        elif isinstance(record, dict) and isinstance(record.get(key or "text"), str):
            documents.append((number, record[key or "text"]))
        else:
            raise ValueError(f"Line {number} of the JSONL file has no text under the key {key or 'text'!r}.")
    return documents


def read_documents(ref: str, column: str = "") -> tuple[list[tuple[int, str]], str]:
    """The non-empty documents of an uploaded file, each with its line or row number, and where
    in the file their text was read from ("column 'body' of notes.csv")."""
    upload = open_upload(ref)
    text = upload.text()
    kind = _kind(upload.name, upload.content_type)
    if kind == "csv":
        numbered, chosen = _from_csv(text, upload.name, column)
        source = f"column {chosen!r} of {upload.name}"
    elif kind == "jsonl":
        numbered = _from_jsonl(text, column)
        source = f"key {column or 'text'!r} of {upload.name}"
    else:
        numbered = list(enumerate(text.splitlines(), start=1))
        source = f"the lines of {upload.name}"
    documents = [(number, doc.strip()) for number, doc in numbered if doc.strip()]
    if not documents:
        raise ValueError(f"{upload.name} holds no text to work on.")
    if len(documents) > MAX_DOCUMENTS:
        raise ValueError(f"{upload.name} holds {len(documents):,} documents; the limit is {MAX_DOCUMENTS:,}.")
    return documents, source
