"""Meaning-based jobs on uploaded text: semantic search and clustering with a real model.

Both read a text file (one document a line), a CSV (a chosen column) or JSONL (a chosen
key) through `documents`, embed the documents batch by batch on the "ml" queue, where the
worker has loaded the model before forking (a large upload in parts over the ml workers, see
`spread`), and attach their results as CSV (and a PNG chart).
numpy and the model are imported inside the jobs: the web imports this module too.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from jobs import Upload, attach, csv_text, fanned_out, job, log, progress
from jobs.builtin.texts import embeddings, spread
from jobs.builtin.texts.documents import read_documents

MAX_MEMBERS_SHOWN = 50

TextColumn = Annotated[
    str,
    Field(
        max_length=100,
        title="Text column",
        description="For a CSV or JSONL file: the column or key holding the text. Left empty, a CSV's "
        "'text' column is read, else the column of the longest words; JSONL's 'text' key.",
    ),
]
TextFile = Annotated[
    Upload, Field(title="Text file", description="A .txt file (one document a line), a .csv or a .jsonl file.")
]


def _read(file: str, column: str) -> tuple[list[tuple[int, str]], str]:
    numbered, source = read_documents(file, column)
    if not fanned_out():  # the merge run of a fanned-out job read them in the first
        log(f"read {len(numbered):,} documents from {source}")
    return numbered, source


def _excerpt(text: str, length: int = 40) -> str:
    return text if len(text) <= length else text[:length].rsplit(" ", 1)[0] + "…"


@job(
    title="Semantic search",
    queue=embeddings.QUEUE,
    timeout="1h",
    requires=embeddings.missing,
    preload=embeddings.preload,
)
def semantic_search(
    file: TextFile,
    query: Annotated[
        str,
        Field(min_length=1, max_length=1000, title="Search for", description="What to look for, in your own words."),
    ],
    top_k: Annotated[
        int, Field(ge=1, le=100, title="Matches to list", description="How many of the closest documents to show.")
    ] = 10,
    text_column: TextColumn = "",
) -> dict:
    """Find the documents in a file closest in meaning to a query."""
    import numpy as np

    numbered, source = _read(file, text_column)
    texts = [text for _, text in numbered]

    def ranked(vectors) -> dict:
        scores = vectors @ embeddings.encode([query])[0]
        best = np.argsort(-scores, kind="stable")[:top_k]
        columns = ["rank", "score", "line", "text"]
        rows = [[rank, round(float(scores[i]), 4), numbered[i][0], texts[i]] for rank, i in enumerate(best, start=1)]
        attach("matches.csv", csv_text(columns, rows), "text/csv")
        progress(len(texts), len(texts), "done")
        return {
            "query": query,
            "documents": len(texts),
            "read_from": source,
            "table": {"columns": columns, "rows": rows},
        }

    return spread.embed_then(file, text_column, texts, ranked)


@job(
    title="Cluster texts", queue=embeddings.QUEUE, timeout="1h", requires=embeddings.missing, preload=embeddings.preload
)
def cluster_texts(
    file: TextFile,
    k: Annotated[
        int, Field(ge=2, le=20, title="Number of clusters", description="How many groups to form (2 to 20).")
    ] = 5,
    text_column: TextColumn = "",
) -> dict:
    """Group the documents in a file by meaning, with a chart of the groups."""
    numbered, source = _read(file, text_column)
    texts = [text for _, text in numbered]
    if len(texts) < k:
        raise ValueError(f"{k} clusters need at least {k} documents; the file holds {len(texts)}.")
    return spread.embed_then(file, text_column, texts, lambda vectors: _clustered(vectors, numbered, source, k))


def _clustered(vectors, numbered: list[tuple[int, str]], source: str, k: int) -> dict:
    """cluster_texts' result from its documents' vectors."""
    import numpy as np

    from jobs.builtin.texts import charts, clustering

    texts = [text for _, text in numbered]
    progress(len(texts), len(texts), "clustering")
    labels, centres = clustering.kmeans(vectors, k)
    # Number clusters by size, largest first, so the chart's legend reads in the table's order.
    order = np.argsort(-np.bincount(labels, minlength=k), kind="stable")
    renumber = np.empty(k, dtype=int)
    renumber[order] = np.arange(k)
    labels, centres = renumber[labels], centres[order]
    terms = clustering.top_terms(texts, labels, k)
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
                "terms": terms[c],
                "members": [texts[i] for i in members[:MAX_MEMBERS_SHOWN]],
            }
        )
    attach("clusters.png", charts.scatter_png(clustering.project_2d(vectors), labels), "image/png")
    rows = [[numbered[i][0], int(labels[i]) + 1, texts[i]] for i in range(len(texts))]
    attach("clusters.csv", csv_text(["line", "cluster", "text"], rows), "text/csv")
    legend = [
        (c["cluster"] - 1, f"{c['cluster']}: {', '.join(c['terms']) or _excerpt(c['representative'])}")
        for c in clusters
    ]
    progress(len(texts), len(texts), "done")
    return {
        "documents": len(texts),
        "read_from": source,
        "clusters": clusters,
        "charts": [
            charts.chart("clusters.png", f"{len(clusters)} clusters of {len(texts):,} texts", legend, len(texts))
        ],
        "table": {
            "columns": ["cluster", "size", "top terms", "representative"],
            "rows": [[c["cluster"], c["size"], ", ".join(c["terms"]) or "—", c["representative"]] for c in clusters],
        },
    }
