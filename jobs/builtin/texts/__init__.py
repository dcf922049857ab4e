"""Meaning-based jobs on uploaded text: semantic search and clustering with a real model.

Both read a text file (one document a line), a CSV (a chosen column) or JSONL (a chosen
key), embed the documents batch by batch on the "ml" queue, where the worker has loaded
the model before forking, and attach their results as CSV (and a PNG chart).
numpy and the model are imported inside the jobs: the web imports this module too.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated

from pydantic import Field

from jobs import Upload, attach, csv_text, job, open_upload, progress
from jobs.builtin.texts import embeddings

MAX_DOCUMENTS = 50_000
MAX_MEMBERS_SHOWN = 50

TextColumn = Annotated[
    str,
    Field(
        max_length=100,
        description="For a CSV or JSONL file: the column or key holding the text (default: 'text', else the first column).",
    ),
]
TextFile = Annotated[Upload, Field(description="A .txt file (one document a line), a .csv or a .jsonl file.")]


def _kind(name: str, content_type: str) -> str:
    lowered = name.lower()
    if lowered.endswith((".csv", ".tsv")) or content_type in ("text/csv", "text/tab-separated-values"):
        return "csv"
    if lowered.endswith((".jsonl", ".ndjson")) or content_type in ("application/jsonl", "application/x-ndjson"):
        return "jsonl"
    return "lines"


def _fromcsv_text(text: str, name: str, column: str) -> list[tuple[int, str]]:
    reader = csv.DictReader(io.StringIO(text), delimiter="\t" if name.lower().endswith(".tsv") else ",")
    header = reader.fieldnames or []
    if not header:
        raise ValueError("The CSV file has no header row.")
    chosen = column or ("text" if "text" in header else header[0])
    if chosen not in header:
        raise ValueError(f"The CSV file has no column {chosen!r}; its columns are {', '.join(header)}.")
    return [(number, row.get(chosen) or "") for number, row in enumerate(reader, start=1)]


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


def read_documents(ref: str, column: str = "") -> list[tuple[int, str]]:
    """The non-empty documents of an uploaded file, each with its line or row number."""
    upload = open_upload(ref)
    text = upload.text()
    kind = _kind(upload.name, upload.content_type)
    if kind == "csv":
        numbered = _fromcsv_text(text, upload.name, column)
    elif kind == "jsonl":
        numbered = _from_jsonl(text, column)
    else:
        numbered = list(enumerate(text.splitlines(), start=1))
    documents = [(number, doc.strip()) for number, doc in numbered if doc.strip()]
    if not documents:
        raise ValueError(f"{upload.name} holds no text to work on.")
    if len(documents) > MAX_DOCUMENTS:
        raise ValueError(f"{upload.name} holds {len(documents):,} documents; the limit is {MAX_DOCUMENTS:,}.")
    return documents


def _embed(texts: list[str]):
    progress(0, len(texts), "encoding")
    return embeddings.encode(
        texts, on_batch=lambda done, total: progress(done, total, f"encoded {done:,} of {total:,}")
    )


@job(
    title="Semantic search",
    queue=embeddings.QUEUE,
    timeout="1h",
    requires=embeddings.missing,
    preload=embeddings.preload,
)
def semantic_search(
    file: TextFile,
    query: Annotated[str, Field(min_length=1, max_length=1000, description="What to look for, in your own words.")],
    top_k: Annotated[int, Field(ge=1, le=100, description="How many matches to list.")] = 10,
    text_column: TextColumn = "",
) -> dict:
    """Find the documents in a file closest in meaning to a query."""
    import numpy as np

    numbered = read_documents(file, text_column)
    texts = [text for _, text in numbered]
    vectors = _embed(texts)
    scores = vectors @ embeddings.encode([query])[0]
    best = np.argsort(-scores, kind="stable")[:top_k]
    columns = ["rank", "score", "line", "text"]
    rows = [[rank, round(float(scores[i]), 4), numbered[i][0], texts[i]] for rank, i in enumerate(best, start=1)]
    attach("matches.csv", csv_text(columns, rows), "text/csv")
    return {"query": query, "documents": len(texts), "table": {"columns": columns, "rows": rows}}


@job(
    title="Cluster texts", queue=embeddings.QUEUE, timeout="1h", requires=embeddings.missing, preload=embeddings.preload
)
def cluster_texts(
    file: TextFile,
    k: Annotated[int, Field(ge=2, le=20, description="How many clusters to form.")] = 5,
    text_column: TextColumn = "",
) -> dict:
    """Group the documents in a file by meaning, with a chart of the groups."""
    import numpy as np

    from jobs.builtin.texts import charts, clustering

    numbered = read_documents(file, text_column)
    texts = [text for _, text in numbered]
    if len(texts) < k:
        raise ValueError(f"{k} clusters need at least {k} documents; the file holds {len(texts)}.")
    vectors = _embed(texts)
    progress(len(texts), len(texts), "clustering")
    labels, centres = clustering.kmeans(vectors, k)
    # Number clusters by size, largest first, so the chart's legend reads in the table's order.
    order = np.argsort(-np.bincount(labels, minlength=k), kind="stable")
    renumber = np.empty(k, dtype=int)
    renumber[order] = np.arange(k)
    labels, centres = renumber[labels], centres[order]
    clusters = []
    for c in range(k):
        members = np.flatnonzero(labels == c)
        if len(members) == 0:
            continue
        representative = members[np.argmax(vectors[members] @ centres[c])]
        clusters.append(
            {
                "cluster": c + 1,
                "size": int(len(members)),
                "representative": texts[representative],
                "members": [texts[i] for i in members[:MAX_MEMBERS_SHOWN]],
            }
        )
    attach("clusters.png", charts.scatter_png(clustering.project_2d(vectors), labels), "image/png")
    rows = [[numbered[i][0], int(labels[i]) + 1, texts[i]] for i in range(len(texts))]
    attach("clusters.csv", csv_text(["line", "cluster", "text"], rows), "text/csv")
    return {
        "documents": len(texts),
        "clusters": clusters,
        "table": {
            "columns": ["cluster", "size", "representative"],
            "rows": [[c["cluster"], c["size"], c["representative"]] for c in clusters],
        },
    }
