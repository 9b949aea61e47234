"""Building the encoder's ONNX graph from the model's safetensors, without PyTorch:
the BERT encoder written with onnx.helper (embeddings, transformer layers on ONNX
Runtime's fused kernels, mean or CLS pooling, L2 normalisation), its weights then
quantised to int8. Run once per model, at its first use (semantic.encoder); processes
that find the file built never import this module."""

import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic
from safetensors.numpy import load_file


def build_onnx(source: Path, pooling: str, out: Path) -> Path:
    """Write the int8 ONNX encoder of the model in `source` (config.json,
    model.safetensors) to `out`, atomically: a reader never sees half a file, and two
    processes building at once both end with a whole one."""
    config = json.loads((source / "config.json").read_text())
    model = _bert_graph(config, source / "model.safetensors", pooling)
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

    def dense_add_norm(h, skip, prefix):
        """LayerNorm(h @ W + b + skip): the dense layer, residual and norm of a block.
        Written as Add and LayerNormalization, not ONNX Runtime's fused
        SkipLayerNormalization: its CPU kernel (1.31) was a fifth of the encoder's time,
        against 3% for these (the session disables the fusion that would rebuild it)."""
        w = const(weights[f"{prefix}.dense.weight"].T.copy(), f"{prefix}.dense.weight_t")
        b = const(weights[f"{prefix}.dense.bias"], f"{prefix}.dense.bias")
        summed = node("Add", [node("Add", [node("MatMul", [h, w]), b]), skip])
        return layer_norm(summed, f"{prefix}.LayerNorm")

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
        # ONNX Runtime's fused Attention: one op for the Q/K/V projections and
        # attention, which the int8 quantiser turns into QAttention (a separate
        # MatMul + MultiHeadAttention measured no faster).
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
        x = dense_add_norm(context, x, f"{p}.attention.output")
        h = node(
            "MatMul",
            [x, const(weights[f"{p}.intermediate.dense.weight"].T.copy(), f"{p}.inter.weight")],
        )
        # FastGelu (bias + GELU's tanh form) rather than BiasGelu (erf): 4% faster, and
        # no further from sentence-transformers' vectors (cosine >= 0.99 either way).
        h = node(
            "FastGelu",
            [h, const(weights[f"{p}.intermediate.dense.bias"], f"{p}.inter.bias")],
            domain="com.microsoft",
        )
        x = dense_add_norm(h, x, f"{p}.output")

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
