"""Export lowering: one table per `.tflite` target, {layer type -> the
function that computes that layer in a form the target runs well}.

The layers compute what Keras computes and know nothing of files. When a
file needs another form of the same arithmetic, the exporter re-runs the
model's functional graph (and its functional sub-models) with each layer
of a type in the target's table called through its lowered form
(`export._forms`, `export._attention_forms`), sharing every weight
(`models._graph.Rerun`, the walk `attention_model` uses). Nothing in
Keras is patched and nothing is kept in global state: the per-export
options (int8 residual scales, calibration) travel in a `Lowering`
object.

Targets:

- `"float"`: float32, float16 and dynamic-range files. Runs wholly on
  LiteRT's GPU accelerator and Qualcomm's NPU compiler as well as the CPU:
  1-D gathers, float keep-factors instead of boolean masks, a mask fill
  inside float16's range, no shrink-axis slices.
- `"int8"`: full-int8 files: the float forms, plus attention whose masked
  scores are filled near the allowed ones, layer norm without
  SQUARED_DIFFERENCE whose per-token scale is taken in two rounds from
  dot products (`_attention_forms.normalized`), post-norm blocks with
  wide residual channels divided down (`calibration.residual_scales`)
  and attention norm outputs whose wide channels are divided down and
  taken apart (`norm_divisors`), and feed-forward layers whose few wide
  hidden channels are a tensor of their own (`calibration.hidden_splits`).
- `"gpu_delegate"` (`to_tflite(..., gpu_delegate=True)`): the float forms
  with attention and layer norm as TFLite's GPU delegate (MediaPipe's
  `delegate: "GPU"`) computes them: no BATCH_MATMUL, every broadcast
  one-sided (`_gpu_delegate_forms`).

`FLOAT_IN_INT8` names the layers whose operators stay in float32 in a
full-int8 file (the log-mel front end, which takes raw samples);
`float_scopes` finds them in a model for the converter.

A layer type missing from a table is called as it is (and a type in
`ONLY_VARIANTS` whose attention is the default). Types match exactly: a
subclass may compute something else, so it is not lowered.
"""

import keras

from keras_attn import _compat
from keras_attn import layers
from keras_attn.export import _attention_forms
from keras_attn.export import _forms
from keras_attn.export import _gpu_delegate_forms
from keras_attn.models import MaskedLMHead
from keras_attn.models import _graph

FLOAT = {
    layers.TokenEmbedding: _forms.token_embedding,
    layers.BertEmbedding: _forms.bert_embedding,
    layers.MultiHeadAttention: _attention_forms.attention,
    layers.MultiHeadSelfAttention: _attention_forms.self_attention,
    layers.TransformerEncoder: _attention_forms.encoder,
    layers.TransformerDecoder: _attention_forms.decoder,
    layers.BertPooler: _forms.pooler,
    layers.PatchEmbedding: _forms.patch_embedding,
    MaskedLMHead: _forms.masked_lm_head,
    layers.WordGather: _forms.word_gather,
    layers.LogMelSpectrogram: _forms.log_mel_spectrogram,
    _compat.getitem_operation(): _forms.getitem,
}

INT8 = {
    **FLOAT,
    keras.layers.LayerNormalization: _attention_forms.layer_norm_integer,
}

GPU_DELEGATE = {
    **FLOAT,
    keras.layers.LayerNormalization: _gpu_delegate_forms.layer_norm,
}

TABLES = {"float": FLOAT, "int8": INT8, "gpu_delegate": GPU_DELEGATE}

# Types lowered only when they use an attention variant (`score`,
# `window`, `hard`): by default they are their own calls, and files of
# them stay as they were, tensor names included.
ONLY_VARIANTS = (layers.TransformerDecoder,)


def uses_variant(layer):
    """Whether `layer`'s attention is not the default scaled
    dot-product over every key."""
    return (
        getattr(layer, "score", "scaled_dot") != "scaled_dot"
        or getattr(layer, "window", None) is not None
        or getattr(layer, "hard", None) is not None
    )


# Layers whose operators stay in float32 in a full-int8 file. The log-mel
# front end takes raw samples: int8 samples keep 48 dB of a clip's range
# (quiet sounds vanish) and an int8 power spectrum under 50 dB; measured
# on a two-tone model, an int8 front end gave chance accuracy (0.45) where
# Keras gave 1.0. After its LOG the values span a few tens of units and
# quantize well, so the file is int8 from there on.
FLOAT_IN_INT8 = (layers.LogMelSpectrogram,)


def float_scopes(model):
    """The names of the layers of `model` (and of its functional
    sub-models) whose types are in `FLOAT_IN_INT8`."""
    names = set()
    for layer in getattr(model, "layers", []):
        if type(layer) in FLOAT_IN_INT8:
            names.add(layer.name)
        names.update(float_scopes(layer))
    return sorted(names)


def target_for(quantization, gpu_delegate=False):
    """The lowering target of a `to_tflite` quantization (and its
    `gpu_delegate`)."""
    if quantization == "int8":
        return "int8"
    return "gpu_delegate" if gpu_delegate else "float"


class Lowering:
    """A target's table with the options of one export.

    Args:
        target: a key of `TABLES`.
        residual_scales: for `"int8"`: `{block: float32 array (hidden,)}`
            from `calibration.residual_scales`.
        hidden_splits: for `"int8"`: `{block: bool array (intermediate,)}`
            from `calibration.hidden_splits`, the feed-forward channels
            computed as a tensor of their own.
        norm_divisors: for `"int8"`: `{block: float32 array (hidden,)}`
            from `calibration.int8_options`, what each post-norm block's
            attention norm output is divided by
            (`_attention_forms.norm_output_split`).
        observe: collect, per post-norm block whose residual can be
            scaled, its feed-forward residual sum, per block whose
            feed-forward layer can be split, its hidden activations, and
            per post-norm block, its attention norm's output
            (calibration).
    """

    def __init__(
        self,
        target,
        residual_scales=None,
        observe=False,
        hidden_splits=None,
        norm_divisors=None,
    ):
        if target not in TABLES:
            raise ValueError(
                f"`target` must be one of {sorted(TABLES)}; received "
                f"{target!r}."
            )
        self.target = target
        self.table = TABLES[target]
        self._scales = {
            id(block): s for block, s in (residual_scales or {}).items()
        }
        self._splits = {
            id(block): wide for block, wide in (hidden_splits or {}).items()
        }
        self._divisors = {
            id(block): d for block, d in (norm_divisors or {}).items()
        }
        self._observe = observe
        self.observed_blocks = {}  # extras key -> block
        self.observed_kinds = {}  # extras key -> "residual", "hidden", "norm"

    def form(self, layer):
        if type(layer) in ONLY_VARIANTS and not uses_variant(layer):
            return None
        return self.table.get(type(layer))

    def handler(self, layer):
        """A `models._graph` handler for `layer`, or None."""
        form = self.form(layer)
        if form is None:
            return None

        def handle(layer, args, kwargs):
            context = _Context(self)
            kwargs = {k: v for k, v in kwargs.items() if k != "training"}
            outputs = form(context, layer, *args, **kwargs)
            return outputs, context.found

        return handle

    def call(self, layer, *args, **kwargs):
        """`layer(*args, **kwargs)` in its lowered form where the table has
        one (the hook the translator's decoding loop takes)."""
        return _Context(self).call(layer, *args, **kwargs)


class _Context:
    """What a lowered form sees while it runs: sublayer calls in their own
    lowered forms, the int8 options, and where observations go."""

    def __init__(self, lowering):
        self.lowering = lowering
        self.target = lowering.target
        self.found = {}

    def call(self, layer, *args, **kwargs):
        form = self.lowering.form(layer)
        kwargs.pop("training", None)
        if form is None:
            return layer(*args, **kwargs)
        return form(self, layer, *args, **kwargs)

    def residual_scales(self, block):
        return self.lowering._scales.get(id(block))

    def hidden_split(self, block):
        return self.lowering._splits.get(id(block))

    def norm_divisors(self, block):
        return self.lowering._divisors.get(id(block))

    def observe(self, block, tensor, kind="residual"):
        if not self.lowering._observe:
            return
        key = _graph.new_key(
            f"{block.name}_{kind}", self.lowering.observed_blocks
        )
        self.lowering.observed_blocks[key] = block
        self.lowering.observed_kinds[key] = kind
        self.found[key] = tensor


def lower(
    model,
    target="float",
    residual_scales=None,
    hidden_splits=None,
    norm_divisors=None,
):
    """`model` re-traced with its layers in `target`'s lowered forms: a
    functional model with the same inputs and outputs, sharing `model`'s
    weights, or `model` itself when nothing in it has a lowered form (or
    it is not functional, so there is no graph to re-run)."""
    if not _compat.is_functional(model):
        return model
    lowering = Lowering(
        target,
        residual_scales=residual_scales,
        hidden_splits=hidden_splits,
        norm_divisors=norm_divisors,
    )
    traced = _graph.Rerun(lowering.handler, name_suffix="lowered").model(
        model, f"{model.name}_lowered"
    )
    if traced is None:
        return model
    return keras.Model(
        model.input, traced.output["outputs"], name=f"{model.name}_lowered"
    )


def observer(model, target="float"):
    """`(model re-traced to also return what calibration observes, the
    Lowering holding `observed_blocks`)`; the model is None when it
    observes nothing."""
    if not _compat.is_functional(model):
        return None, None
    lowering = Lowering(target, observe=True)
    traced = _graph.Rerun(lowering.handler, name_suffix="observed").model(
        model, f"{model.name}_observed"
    )
    if traced is None or not traced.extra_names:
        return None, lowering
    return traced, lowering
