"""BERT tasks: a backbone, its WordPiece preprocessor and a head in one
model that fits and predicts on strings (keras-hub's `Task` shape)."""

import os
import pathlib

import keras
import keras_hub

from keras_attn.models._task import ClassifierTask
from keras_attn.models._task import TaskMixin
from keras_attn.models._task import check_class_names
from keras_attn.models.bert.backbone import bert_backbone
from keras_attn.models.bert.heads import classifier_logits
from keras_attn.models.bert.heads import mean_embedding
from keras_attn.models.bert.huggingface import load_bert
from keras_attn.models.bert.masked_lm import masked_lm_graph
from keras_attn.models.bert.preprocessing import BertWordPieceTokenizer
from keras_attn.models.bert.preprocessing import load_bert_preprocessor
from keras_attn.models.bert.presets import BERT_PRESETS


def bert_preprocessor(vocabulary, sequence_length=128, lowercase=True):
    """keras-hub's `BertTextClassifierPreprocessor` over a vocabulary.

    Args:
        vocabulary: a local folder (its `vocab.txt` and, when present,
            `tokenizer_config.json`), or a list of WordPiece tokens.
        sequence_length: int. Tokens per example after packing.
        lowercase: bool. For a list: lowercase (and strip accents).

    Returns:
        keras_hub.models.BertTextClassifierPreprocessor.

    Example:

    >>> pre = bert_preprocessor(
    ...     ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "cat"],
    ...     sequence_length=6)
    >>> [int(i) for i in pre(["A cat"])["token_ids"][0]]
    [2, 5, 6, 3, 0, 0]
    """
    if isinstance(vocabulary, (str, pathlib.Path)):
        return load_bert_preprocessor(vocabulary, sequence_length)
    tokenizer = BertWordPieceTokenizer(
        vocabulary=list(vocabulary),
        lowercase=lowercase,
        strip_accents=lowercase,
    )
    return keras_hub.models.BertTextClassifierPreprocessor(
        tokenizer, sequence_length=sequence_length
    )


def _backbone_and_preprocessor(preset, vocabulary, sequence_length, overrides):
    """`(backbone, preprocessor)` for `from_preset`: a local Hugging Face
    folder, or a key of `BERT_PRESETS` with a vocabulary (from scratch)."""
    if preset in BERT_PRESETS:
        if vocabulary is None:
            raise ValueError(
                f"A {preset!r} BERT from scratch needs a `vocabulary` (a "
                "folder with vocab.txt, or a list of WordPiece tokens); "
                "received none."
            )
        preprocessor = bert_preprocessor(vocabulary, sequence_length)
        size = preprocessor.tokenizer.vocabulary_size()
        overrides = {
            "vocabulary_size": size,
            "max_sequence_length": sequence_length,
            **overrides,
        }
        return bert_backbone(preset, **overrides), preprocessor
    folder = (
        pathlib.Path(preset) if isinstance(preset, (str, os.PathLike)) else None
    )
    if folder is None or not folder.is_dir():
        raise ValueError(
            "`preset` must be a local Hugging Face BERT folder (config.json, "
            f"model.safetensors, vocab.txt) or one of {sorted(BERT_PRESETS)};"
            f" received {str(preset)!r}."
        )
    if overrides:
        raise ValueError(
            f"A pretrained folder fixes the architecture; received "
            f"overrides {sorted(overrides)}."
        )
    backbone = load_bert(folder)
    preprocessor = bert_preprocessor(
        vocabulary if vocabulary is not None else folder, sequence_length
    )
    return backbone, preprocessor


@keras.saving.register_keras_serializable(package="keras_attn")
class TextClassifier(ClassifierTask, keras_hub.models.TextClassifier):
    """A BERT text classifier that fits and predicts on strings.

    keras-hub's task shape: a backbone (`bert_backbone` / `load_bert`), a
    preprocessor (keras-hub's `BertTextClassifierPreprocessor` over the
    checkpoint's WordPiece vocabulary) and the head of
    `bert_text_classifier`, in one functional model. `fit`, `predict` and
    `evaluate` take strings (or `(first, second)` pairs); labels are class
    ids, or class names when the task has them. The class names and the
    tokenizer's vocabulary are saved inside the `.keras` file. Inputs that
    are already token ids (the dict `bert_text_classifier` takes) skip the
    preprocessor. Outputs are logits; `classify` gives names and
    probabilities.

    Compiled by default as keras-hub's `TextClassifier` is (Adam 5e-5,
    sparse categorical cross-entropy on logits, accuracy); call `compile`
    again for other settings (a BERT from scratch wants a larger rate).

    Args:
        backbone: a model from `bert_backbone` or `load_bert`.
        num_classes: int >= 2, or None when `class_names` is given.
        preprocessor: a keras-hub `BertTextClassifierPreprocessor`, or
            None (the task then takes token ids only).
        class_names: optional list of str, one per output, in order.
        pooling: `"pooled"` or `"mean"`, see `bert_text_classifier`.
        dropout: float. Dropout before the dense head.
        **kwargs: `name`, `compile` and the rest of keras-hub's `Task`.

    Example:

    >>> tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a",
    ...           "fine", "dull", "film"]
    >>> classifier = TextClassifier.from_preset(
    ...     "bert_tiny", vocabulary=tokens, sequence_length=8,
    ...     class_names=["neg", "pos"])
    >>> history = classifier.fit(
    ...     ["a fine film", "a dull film"], ["pos", "neg"], verbose=0)
    >>> classifier.predict(["a fine film"], verbose=0).shape
    (1, 2)
    """

    def __init__(
        self,
        backbone,
        num_classes=None,
        preprocessor=None,
        class_names=None,
        pooling="pooled",
        dropout=0.1,
        **kwargs,
    ):
        class_names, num_classes = check_class_names(class_names, num_classes)
        self.backbone = backbone
        self.preprocessor = preprocessor
        logits = classifier_logits(
            backbone,
            num_classes,
            pooling,
            dropout,
            kwargs.get("name") or "text_classifier",
        )  # (B, C)
        super().__init__(inputs=backbone.input, outputs=logits, **kwargs)
        self.num_classes = num_classes
        self.class_names = class_names
        self.pooling = pooling
        self.dropout = dropout

    def get_config(self):
        config = super().get_config()  # backbone, preprocessor, name
        config.update(
            num_classes=self.num_classes,
            class_names=self.class_names,
            pooling=self.pooling,
            dropout=self.dropout,
        )
        return config

    @classmethod
    def from_preset(
        cls,
        preset,
        num_classes=None,
        class_names=None,
        sequence_length=128,
        vocabulary=None,
        pooling="pooled",
        dropout=0.1,
        **overrides,
    ):
        """A classifier on a local checkpoint or a preset from scratch.

        Args:
            preset: a local Hugging Face BERT folder (`config.json`,
                `model.safetensors`, `vocab.txt`), whose weights load; or a
                key of `BERT_PRESETS` (a new BERT, random weights).
            num_classes, class_names: the classes (one is enough).
            sequence_length: int. Tokens per example the preprocessor makes
                (and, from scratch, the positions the model holds).
            vocabulary: from scratch, a folder with `vocab.txt` or a list
                of WordPiece tokens (it must hold `[PAD]`, `[UNK]`,
                `[CLS]`, `[SEP]` and `[MASK]`); for a folder, None takes
                the folder's.
            pooling, dropout: see `TextClassifier`.
            **overrides: from scratch, `bert_config` keys.

        Unlike keras-hub's `from_preset`, nothing is downloaded: presets
        are configurations, checkpoints are local folders.
        """
        backbone, preprocessor = _backbone_and_preprocessor(
            preset, vocabulary, sequence_length, overrides
        )
        return cls(
            backbone,
            num_classes,
            preprocessor=preprocessor,
            class_names=class_names,
            pooling=pooling,
            dropout=dropout,
        )

    @classmethod
    def from_network(cls, model, preprocessor=None, class_names=None):
        """The task over a `bert_text_classifier` model, sharing its
        weights (how a `keras-attn train` run folder loads)."""
        backbone = _inner_backbone(model)
        pooling = (
            "mean"
            if any(layer.name.endswith("_pooling") for layer in model.layers)
            else "pooled"
        )
        task = cls(
            backbone,
            model.output_shape[-1],
            preprocessor=preprocessor,
            class_names=class_names,
            pooling=pooling,
            dropout=model.get_layer("classifier_dropout").rate,
            name=model.name,
        )
        task.get_layer("logits").set_weights(
            model.get_layer("logits").get_weights()
        )
        return task


@keras.saving.register_keras_serializable(package="keras_attn")
class SentenceEmbedder(TaskMixin, keras_hub.models.Task):
    """Sentence embeddings from strings: a BERT backbone, its preprocessor
    and `bert_sentence_embedder`'s masked mean and L2 norm.

    `predict(strings)` gives unit vectors `(batch, hidden)`, so the dot
    product of two is their cosine similarity. Inputs that are already
    token ids skip the preprocessor.

    Args:
        backbone: a model from `bert_backbone` or `load_bert`.
        preprocessor: a keras-hub `BertTextClassifierPreprocessor`, or
            None (token ids only).
        **kwargs: `name` and the rest of keras-hub's `Task` (not compiled
            by default: it has no loss).

    Example:

    >>> tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "cat"]
    >>> embedder = SentenceEmbedder.from_preset(
    ...     "bert_tiny", vocabulary=tokens, sequence_length=8)
    >>> embedder.predict(["a cat", "cat"], verbose=0).shape
    (2, 128)
    """

    def __init__(self, backbone, preprocessor=None, **kwargs):
        kwargs.setdefault("compile", False)
        self.backbone = backbone
        self.preprocessor = preprocessor
        super().__init__(
            inputs=backbone.input, outputs=mean_embedding(backbone), **kwargs
        )

    @classmethod
    def from_preset(cls, preset, sequence_length=128, vocabulary=None):
        """An embedder on a local checkpoint folder or a preset from
        scratch (see `TextClassifier.from_preset`)."""
        backbone, preprocessor = _backbone_and_preprocessor(
            preset, vocabulary, sequence_length, {}
        )
        return cls(backbone, preprocessor=preprocessor)


@keras.saving.register_keras_serializable(package="keras_attn")
class MaskedLM(TaskMixin, keras_hub.models.MaskedLM):
    """BERT's masked language model, fit on plain strings.

    A backbone, keras-hub's `BertMaskedLMPreprocessor` (it chooses 15% of
    the tokens, makes 80% of them `[MASK]`, 10% a random token and keeps
    10%, and gives the chosen positions, their ids as labels and weights)
    and `bert_masked_lm`'s head tied to the token table. `fit(strings)`
    needs no labels. Compiled by default as keras-hub's `MaskedLM` is
    (Adam 5e-5, sparse categorical cross-entropy on logits, accuracy over
    the masked tokens). Inputs that are already the network's (a dict with
    `mask_positions`) skip the preprocessor.

    Args:
        backbone: a model from `bert_backbone` or `load_bert`.
        preprocessor: a keras-hub `BertMaskedLMPreprocessor`, or None.
        activation, layer_norm_epsilon: the head's; see `bert_masked_lm`.
        **kwargs: `name`, `compile` and the rest of keras-hub's `Task`.

    Example:

    >>> tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "cat"]
    >>> model = MaskedLM.from_preset(
    ...     "bert_tiny", vocabulary=tokens, sequence_length=8)
    >>> history = model.fit(["a cat", "a cat a cat"], verbose=0)
    >>> sorted(history.history)
    ['loss', 'sparse_categorical_accuracy']
    """

    def __init__(
        self,
        backbone,
        preprocessor=None,
        activation=None,
        layer_norm_epsilon=None,
        **kwargs,
    ):
        inputs, logits, head = masked_lm_graph(
            backbone, activation, layer_norm_epsilon
        )
        self.backbone = backbone
        self.preprocessor = preprocessor
        keras_hub.models.Task.__init__(
            self, inputs=inputs, outputs=logits, **kwargs
        )
        self.masked_lm_head = head

    def get_config(self):
        config = keras_hub.models.Task.get_config(self)
        config.update(
            activation=keras.activations.serialize(
                self.masked_lm_head.activation
            ),
            layer_norm_epsilon=self.masked_lm_head.layer_norm_epsilon,
        )
        return config

    @classmethod
    def from_preset(
        cls,
        preset,
        sequence_length=128,
        vocabulary=None,
        mask_selection_rate=0.15,
        mask_selection_length=None,
        **overrides,
    ):
        """A masked LM on a local checkpoint folder or a preset from
        scratch (see `TextClassifier.from_preset`).

        Args:
            mask_selection_rate: float. Share of the tokens chosen.
            mask_selection_length: int. Most tokens chosen per example;
                None takes `round(sequence_length * rate)`, at least 1.
        """
        backbone, text = _backbone_and_preprocessor(
            preset, vocabulary, sequence_length, overrides
        )
        if mask_selection_length is None:
            mask_selection_length = max(
                1, round(sequence_length * mask_selection_rate)
            )
        preprocessor = keras_hub.models.BertMaskedLMPreprocessor(
            text.tokenizer,
            sequence_length=sequence_length,
            mask_selection_rate=mask_selection_rate,
            mask_selection_length=mask_selection_length,
        )
        return cls(backbone, preprocessor=preprocessor)


def _inner_backbone(model):
    """The BERT backbone inside a functional head model (with mean
    pooling, inside the pooling model)."""
    for layer in model.layers:
        if not isinstance(layer, keras.Model):
            continue
        outputs = layer.output
        if isinstance(outputs, dict) and "sequence_output" in outputs:
            return layer
        try:
            return _inner_backbone(layer)
        except ValueError:
            continue
    raise ValueError(
        f"{model.name!r} holds no BERT backbone (a model with a "
        "'sequence_output' output); expected a `bert_text_classifier`."
    )
