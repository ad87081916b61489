"""`TokenClassifier`: a BERT tagger that fits and predicts on words."""

import warnings

import keras
import keras_hub
import numpy as np

from keras_attn.models._task import TaskMixin
from keras_attn.models._task import check_class_names
from keras_attn.models.bert.tasks import _backbone_and_preprocessor
from keras_attn.models.bert.tasks import _inner_backbone
from keras_attn.models.tagger import words as wp
from keras_attn.models.tagger.heads import piece_logits_model
from keras_attn.models.tagger.heads import token_classifier_graph

AGGREGATIONS = ("first", "mean")


def _is_words(x):
    """True for sentences of words: any list or tuple (the network itself
    takes a dict, so a list is never its input); checked later."""
    return isinstance(x, (list, tuple))


def _softmax(logits):
    logits = np.asarray(logits, "float64")
    logits = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=-1, keepdims=True)


@keras.saving.register_keras_serializable(package="keras_attn")
class TokenClassifier(TaskMixin, keras_hub.models.Task):
    """A BERT tagger (one label per word) that fits and predicts on words.

    keras-hub's task shape, over `bert_token_classifier`: a backbone, a
    preprocessor holding the WordPiece tokenizer and the sequence length
    (keras-hub's `BertTextClassifierPreprocessor`), and a dense head on
    each word's first piece. Inputs are sentences as lists of words, never
    strings to re-split; labels are a list of tags per sentence (names or
    ids). Words are aligned to pieces in NumPy (`tagger.words`): each
    word's label sits on its first piece, and the other pieces, the
    special tokens and the padding take no part in the loss or metrics.

    - `fit(sentences, tags)`: words that do not fit in `sequence_length`
      pieces are cut, and a warning gives their count.
    - `predict(sentences)`: per-word logits, a list of `(words, classes)`
      arrays; every word gets one (long sentences run in overlapping
      windows, see `word_windows`).
    - `tag(sentences)`: the tag names; `word_probabilities` their
      probabilities, from the first piece or (`aggregation="mean"`) the
      mean of the pieces' probabilities.
    - `evaluate(sentences, tags)`: loss and per-word accuracy over every
      word, windows included.
    - Inputs that are already the network's (a dict with `word_starts`)
      go to Keras as they are.

    Compiled by default with Adam (5e-5), cross-entropy on logits averaged
    over the real words (`reduction="mean_with_sample_weight"`) and
    accuracy weighted the same way.

    Args:
        backbone: a model from `bert_backbone` or `load_bert`.
        num_classes: int >= 2, or None when `class_names` is given.
        preprocessor: a keras-hub `BertTextClassifierPreprocessor` (its
            `tokenizer` and `sequence_length` are used), or None (the task
            then takes the network's inputs only).
        class_names: optional list of str, the tags in output order.
        dropout: float. Dropout before the dense head.
        **kwargs: `name`, `compile` and the rest of keras-hub's `Task`.

    Example:

    >>> tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the",
    ...           "cat", "sat"]
    >>> tagger = TokenClassifier.from_preset(
    ...     "bert_tiny", vocabulary=tokens, sequence_length=8,
    ...     class_names=["DET", "NOUN", "VERB"])
    >>> history = tagger.fit([["the", "cat", "sat"]],
    ...                      [["DET", "NOUN", "VERB"]], verbose=0)
    >>> [len(tags) for tags in tagger.tag([["the", "cat"], ["sat"]])]
    [2, 1]
    """

    def __init__(
        self,
        backbone,
        num_classes=None,
        preprocessor=None,
        class_names=None,
        dropout=0.1,
        **kwargs,
    ):
        class_names, num_classes = check_class_names(class_names, num_classes)
        self.backbone = backbone
        self.preprocessor = preprocessor
        inputs, logits = token_classifier_graph(
            backbone,
            num_classes,
            dropout,
            kwargs.get("name") or "token_classifier",
        )
        keras_hub.models.Task.__init__(
            self, inputs=inputs, outputs=logits, **kwargs
        )
        self.num_classes = num_classes
        self.class_names = class_names
        self.dropout = dropout

    def get_config(self):
        config = keras_hub.models.Task.get_config(self)
        config.update(
            num_classes=self.num_classes,
            class_names=self.class_names,
            dropout=self.dropout,
        )
        return config

    def compile(
        self,
        optimizer="auto",
        loss="auto",
        *,
        metrics=None,
        weighted_metrics="auto",
        **kwargs,
    ):
        """Keras's `compile` with the tagger's defaults for `"auto"`.

        The padding words carry a sample weight of 0, so metrics that
        should count real words only go in `weighted_metrics`.
        """
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(5e-5)
        if loss == "auto":
            loss = keras.losses.SparseCategoricalCrossentropy(
                from_logits=True, reduction="mean_with_sample_weight"
            )
        if weighted_metrics == "auto":
            weighted_metrics = [
                keras.metrics.SparseCategoricalAccuracy(name="accuracy")
            ]
        keras.Model.compile(
            self,
            optimizer=optimizer,
            loss=loss,
            metrics=metrics,
            weighted_metrics=weighted_metrics,
            **kwargs,
        )

    @classmethod
    def from_preset(
        cls,
        preset,
        num_classes=None,
        class_names=None,
        sequence_length=128,
        vocabulary=None,
        dropout=0.1,
        **overrides,
    ):
        """A tagger on a local checkpoint or a preset from scratch.

        Args:
            preset: a local Hugging Face BERT folder (`config.json`,
                `model.safetensors`, `vocab.txt`), whose weights load; or a
                key of `BERT_PRESETS` (a new BERT, random weights).
            num_classes, class_names: the tags (one is enough).
            sequence_length: int >= 3. Pieces per row, `[CLS]` and
                `[SEP]` included.
            vocabulary: see `TextClassifier.from_preset`.
            dropout: see `TokenClassifier`.
            **overrides: from scratch, `bert_config` keys.

        Nothing is downloaded: presets are configurations, checkpoints are
        local folders.
        """
        if not isinstance(sequence_length, int) or sequence_length < 3:
            raise ValueError(
                "`sequence_length` must be an int >= 3 ([CLS], a word, "
                f"[SEP]); received {sequence_length!r}."
            )
        backbone, preprocessor = _backbone_and_preprocessor(
            preset, vocabulary, sequence_length, overrides
        )
        return cls(
            backbone,
            num_classes,
            preprocessor=preprocessor,
            class_names=class_names,
            dropout=dropout,
        )

    @classmethod
    def from_network(cls, model, preprocessor=None, class_names=None):
        """The task over a `bert_token_classifier` model, sharing its
        weights (how a `keras-attn train` run folder loads)."""
        task = cls(
            _inner_backbone(model),
            model.output_shape[-1],
            preprocessor=preprocessor,
            class_names=class_names,
            dropout=model.get_layer("tagger_dropout").rate,
            name=model.name,
        )
        task.get_layer("tag_logits").set_weights(
            model.get_layer("tag_logits").get_weights()
        )
        return task

    # ---- words to rows ----------------------------------------------

    @property
    def sequence_length(self):
        return self._preprocessor_or_raise().sequence_length

    @property
    def label_names(self):
        """The tag names, or the indices as str when there are none."""
        return self.class_names or [str(i) for i in range(self.num_classes)]

    def _preprocessor_or_raise(self):
        if self.preprocessor is None:
            raise ValueError(
                "This tagger has no preprocessor, so it takes the network's "
                "inputs only (a dict with token_ids, segment_ids, "
                "padding_mask and word_starts); build it with "
                "`TokenClassifier.from_preset` to give it words."
            )
        return self.preprocessor

    def _pieces(self, sentences, what="sentences"):
        sentences = wp.check_sentences(sentences, what)
        tokenizer = self._preprocessor_or_raise().tokenizer
        return wp.word_pieces(tokenizer, sentences)

    def _special_ids(self):
        tokenizer = self._preprocessor_or_raise().tokenizer
        return (
            tokenizer.cls_token_id,
            tokenizer.sep_token_id,
            tokenizer.pad_token_id,
        )

    def tag_ids(self, tags, sentences):
        """Per-sentence tags (names or ids) as int32 id arrays, checked
        against the sentences' lengths and the task's tags."""
        if not hasattr(tags, "__len__") or len(tags) != len(sentences):
            raise ValueError(
                f"Expected one list of tags per sentence ({len(sentences)});"
                f" received {len(tags) if hasattr(tags, '__len__') else tags}."
            )
        index = {name: i for i, name in enumerate(self.class_names or [])}
        out, unknown = [], set()
        for i, (words, row) in enumerate(zip(sentences, tags, strict=True)):
            row = list(row)
            if len(row) != len(words):
                raise ValueError(
                    f"Sentence {i} has {len(words)} words and {len(row)} "
                    f"tags; expected one tag per word: {words[:8]}."
                )
            ids = []
            for tag in row:
                if isinstance(tag, str):
                    if tag not in index:
                        unknown.add(tag)
                        continue
                    ids.append(index[tag])
                elif 0 <= int(tag) < self.num_classes:
                    ids.append(int(tag))
                else:
                    unknown.add(str(tag))
            out.append(np.asarray(ids, "int32"))
        if unknown:
            raise ValueError(
                f"Tags {sorted(unknown)[:8]} are not among the tagger's "
                f"{self.num_classes} tags {self.label_names[:16]}; expected "
                "those names or their indices."
            )
        return out

    def encode_words(self, sentences, tags=None):
        """Network inputs, labels and weights for training on words.

        Args:
            sentences: a list of lists of words.
            tags: None, or a list (sentence) of tags (names or ids).

        Returns:
            `(inputs, labels, weights, cut_words)`: the dict of int32
            arrays the network takes, int32 labels `(N, T - 2)` (0 where
            there is no word; None without `tags`), float32 weights (1 on
            the words that fit) and the count of words cut because their
            sentence is longer than `sequence_length` pieces.
        """
        pieces = self._pieces(sentences)
        ids = None if tags is None else self.tag_ids(tags, sentences)
        encoded = wp.encode(pieces, self.sequence_length, self._special_ids())
        labels = None
        if ids is not None:
            labels = np.zeros(encoded.word_mask.shape, "int32")
            for row, (kept, row_ids) in enumerate(
                zip(encoded.words, ids, strict=True)
            ):
                labels[row, :kept] = row_ids[:kept]
        weights = encoded.word_mask.astype("float32")
        return encoded.inputs, labels, weights, encoded.cut_words

    def _training_rows(self, x, y, sample_weight=None, what="x"):
        if sample_weight is not None:
            raise ValueError(
                "A tagger weights its words itself (padding words weigh "
                "0); `sample_weight` is not taken with sentences of words."
            )
        if y is None:
            raise ValueError(
                f"Training on words needs their tags; received `{what}` "
                "without `y`."
            )
        inputs, labels, weights, cut = self.encode_words(x, y)
        if cut:
            total = sum(len(words) for words in x)
            warnings.warn(
                f"{cut} of {total} words were cut: their sentences are "
                f"longer than sequence_length={self.sequence_length} pieces."
                " They take no part in training; raise sequence_length to "
                "keep them (prediction and evaluation take every word).",
                stacklevel=3,
            )
        return inputs, labels, weights

    # ---- Keras entry points -----------------------------------------

    def fit(self, x=None, y=None, validation_data=None, **kwargs):
        """Keras's `fit` on sentences of words and their tags (or on the
        network's own inputs). Words that do not fit are cut, with a
        warning; `validation_data=(sentences, tags)` is cut the same way
        (use `evaluate` for figures over every word)."""
        if _is_words(x):
            x, y, weights = self._training_rows(
                x, y, kwargs.pop("sample_weight", None)
            )
            kwargs["sample_weight"] = weights
        if isinstance(validation_data, tuple) and _is_words(
            validation_data[0]
        ):
            validation_data = self._training_rows(
                *validation_data[:2], what="validation_data"
            )
        with warnings.catch_warnings():
            # The backbone's pooler feeds nothing here, by design: a tagger
            # reads the sequence. Keras would warn on every fit.
            warnings.filterwarnings(
                "ignore", message=r"Gradients do not exist.*'pooler/"
            )
            return super().fit(
                x, y, validation_data=validation_data, **kwargs
            )

    def _window_rows(self, sentences):
        """Rows for every word of `sentences` (windows for long ones) and,
        per sentence, each word's `(row, word index in the row)`."""
        pieces = self._pieces(sentences)
        budget = self.sequence_length - 2
        rows, plan = [], []
        for sentence in pieces:
            windows, owner = wp.word_windows([len(p) for p in sentence], budget)
            base = len(rows)
            rows.extend(sentence[a:b] for a, b in windows)
            plan.append(
                [
                    (base + owner[w], w - windows[owner[w]][0])
                    for w in range(len(sentence))
                ]
            )
        encoded = wp.encode(rows, self.sequence_length, self._special_ids())
        return encoded, plan

    def predict(self, x, batch_size=32, verbose="auto", **kwargs):
        """Per-word logits. For sentences of words: a list of float32
        `(words, classes)` arrays, one per sentence, every word included.
        For the network's own inputs: Keras's `predict`."""
        if not _is_words(x):
            return super().predict(
                x, batch_size=batch_size, verbose=verbose, **kwargs
            )
        encoded, plan = self._window_rows(x)
        logits = keras.Model.predict(
            self, encoded.inputs, batch_size=batch_size, verbose=verbose
        )  # (R, T - 2, C)
        return [
            np.stack([logits[row, k] for row, k in words]) for words in plan
        ]

    def word_probabilities(
        self, sentences, aggregation="first", batch_size=32
    ):
        """Each word's tag probabilities: a list of float64
        `(words, classes)` arrays, one per sentence.

        Args:
            sentences: a list of lists of words.
            aggregation: `"first"` (the softmax of the word's first
                piece, as the network is trained) or `"mean"` (the mean of
                the softmax of each of its pieces).
            batch_size: int.
        """
        if aggregation not in AGGREGATIONS:
            raise ValueError(
                f"`aggregation` must be one of {AGGREGATIONS}; received "
                f"{aggregation!r}."
            )
        if aggregation == "first":
            return [
                _softmax(logits)
                for logits in self.predict(
                    sentences, batch_size=batch_size, verbose=0
                )
            ]
        encoded, plan = self._window_rows(sentences)
        pieces = _softmax(
            piece_logits_model(self).predict(
                {
                    key: value
                    for key, value in encoded.inputs.items()
                    if key != "word_starts"
                },
                batch_size=batch_size,
                verbose=0,
            )
        )  # (R, T, C)
        ends = _word_ends(encoded)
        out = []
        for words in plan:
            out.append(
                np.stack(
                    [
                        pieces[
                            row,
                            encoded.inputs["word_starts"][row, k] : ends[
                                row, k
                            ],
                        ].mean(axis=0)
                        for row, k in words
                    ]
                )
            )
        return out

    def tag(self, sentences, aggregation="first", batch_size=32):
        """The most probable tag name of every word: a list (sentence) of
        lists of str. See `word_probabilities`."""
        names = self.label_names
        return [
            [names[i] for i in np.argmax(p, axis=-1)]
            for p in self.word_probabilities(sentences, aggregation, batch_size)
        ]

    def evaluate(self, x=None, y=None, batch_size=32, **kwargs):
        """Loss and per-word accuracy. On sentences of words, over every
        word (long sentences in windows, as `predict`): `[loss, accuracy]`
        or, with `return_dict=True`, `{"loss": ..., "accuracy": ...}`. On
        the network's own inputs: Keras's `evaluate`."""
        if not _is_words(x):
            return super().evaluate(x, y, batch_size=batch_size, **kwargs)
        ids = self.tag_ids(y, wp.check_sentences(x))
        probabilities = self.word_probabilities(x, batch_size=batch_size)
        gold = np.concatenate(ids)
        p = np.concatenate(probabilities)
        chosen = p[np.arange(len(gold)), gold]
        loss = float(-np.mean(np.log(np.maximum(chosen, 1e-12))))
        accuracy = float(np.mean(p.argmax(axis=-1) == gold))
        if kwargs.get("return_dict"):
            return {"loss": loss, "accuracy": accuracy}
        return [loss, accuracy]


def _word_ends(encoded):
    """For each row and word, the position after its last piece."""
    starts = encoded.inputs["word_starts"]
    ends = np.zeros_like(starts)
    # The row's [SEP] sits after the last word's pieces.
    separator = encoded.inputs["padding_mask"].sum(axis=1) - 1
    for row, count in enumerate(encoded.words):
        ends[row, : count - 1] = starts[row, 1:count]
        if count:
            ends[row, count - 1] = separator[row]
    return ends
