"""A large upload's documents encoded on several "ml" workers at once, still one job.

    return spread.embed_then(file, column, texts, rank)   # rank(vectors) makes the job's result

Past `TEXT_FAN_OUT_OVER` documents, and when more than one live worker serves "ml", the
documents are cut into parts of half that many (more, for about four parts a worker), taken in
the order the model takes them (shortest first, `BATCH` a model call; see Encoder.order) and cut
at multiples of `BATCH`, so every part's model calls are the ones a single worker would make and
the vectors are the same.
Each part is a job on any ml worker: it reads the upload again, encodes its documents and
attaches their vectors as a .npy file (384 float32 a document is megabytes a part, too much for
a JSON result). The merge puts the vectors back in the documents' order, hands them to `then`
for the rest of the job, and drops the parts' files. Otherwise the documents are encoded here.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from jobs import (
    Backoff,
    attach,
    drop_part_files,
    fan_out,
    fanned_out,
    job,
    log,
    part_files,
    progress,
    settings,
    workers_serving,
)
from jobs.builtin.texts import embeddings
from jobs.builtin.texts.documents import read_documents

VECTORS = "vectors.npy"


# Parts a worker gets, about: enough for parts of unequal length to even out over the workers,
# few enough that the upload, which every part reads again, is not read needlessly often.
PARTS_PER_WORKER = 4


def part_size(over: int, count: int, workers: int) -> int:
    """Documents a part encodes, in whole batches: half the threshold, or more for an upload that
    would give each worker more than PARTS_PER_WORKER parts."""
    wanted = max(over // 2, -(-count // (PARTS_PER_WORKER * workers)))
    return max(embeddings.BATCH, -(-wanted // embeddings.BATCH) * embeddings.BATCH)


def embed_then(file: str, column: str, texts: list[str], then: Callable):
    """`then(vectors)`, the vectors of `texts` (the documents of `file`'s `column`) made here or,
    for a large upload when more than one worker serves "ml", in parts over those workers."""

    def merge(results: list[dict]):
        found = then(_assembled(results, len(texts)))
        drop_part_files()
        return found

    # Asked first: the workers serving "ml" may have changed since the run that fanned out.
    if fanned_out():  # the merge run: its parts have their items, which are not read again
        return fan_out(encode_part, (), merge=merge)
    over = settings.text_fan_out_over
    workers = workers_serving(embeddings.QUEUE) if 0 < over < len(texts) else 0
    if workers < 2:
        progress(0, len(texts), "encoding")
        return then(embeddings.encode(texts, on_batch=_report))
    order, size = embeddings.order(texts), part_size(over, len(texts), workers)
    chunks = [order[start : start + size] for start in range(0, len(order), size)]
    log(f"encoding in {len(chunks)} parts of up to {size:,} documents over {workers} ml workers")
    return fan_out(encode_part, chunks, merge=merge, kwargs={"file": file, "column": column})


def _report(done: int, total: int) -> None:
    progress(done, total, f"encoded {done:,} of {total:,}")


@job(
    title="Encode part of a text file",
    internal=True,
    queue=embeddings.QUEUE,
    timeout="1h",
    retry=Backoff(2, first=1),
    requires=embeddings.missing,
    preload=embeddings.preload,
)
def encode_part(indexes: list[int], file: str, column: str) -> dict:
    """Encode some of an upload's documents, given by their places, and attach their vectors."""
    import numpy as np

    documents, _ = read_documents(file, column)
    texts = [documents[i][1] for i in indexes]
    progress(0, len(texts), "encoding")
    buffer = io.BytesIO()
    np.save(buffer, embeddings.encode(texts, on_batch=_report), allow_pickle=False)
    attach(VECTORS, buffer.getvalue(), "application/octet-stream")
    return {"indexes": indexes}


def _assembled(results: list[dict], count: int):
    """The parts' vectors, each row back in its document's place."""
    import numpy as np

    vectors = None
    for n, (result, data) in enumerate(zip(results, part_files(VECTORS), strict=True), start=1):
        if data is None:
            raise RuntimeError(f"the vectors of part {n} of {len(results)} are gone")
        found = np.load(io.BytesIO(data), allow_pickle=False)
        if vectors is None:
            vectors = np.zeros((count, found.shape[1]), dtype=found.dtype)
        vectors[result["indexes"]] = found
    return vectors
