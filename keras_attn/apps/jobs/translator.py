"""The `keras-attn train translator` job: the Transformer on TSV pairs."""

import pathlib

import keras
import tensorflow as tf

from keras_attn import data
from keras_attn import training
from keras_attn.apps.jobs._common import check_sizes
from keras_attn.apps.jobs._common import finish
from keras_attn.apps.jobs._common import say
from keras_attn.apps.jobs._common import split
from keras_attn.apps.jobs._common import write_predictions
from keras_attn.training import distribute


def train_translator(
    train,
    output,
    eval=None,
    preset="translator_tiny",
    vocabulary_size=2000,
    max_length=32,
    held_out=0.1,
    max_pairs=None,
    beam_size=1,
    **options,
):
    """Trains a translator on a TSV of sentence pairs: the Transformer,
    or the RNN encoder-decoder with additive attention for an
    `rnn_translator_*` preset.

    Args:
        train: path of a `source<TAB>target` TSV without header (the
            Tatoeba format).
        output: folder for the translator and reports.
        eval: optional TSV of the same format; without it, the pairs of
            `held_out` of the distinct source sentences are evaluated.
        preset: a key of `TRANSLATOR_PRESETS` or of
            `RNN_TRANSLATOR_PRESETS`.
        vocabulary_size: int. Pieces of the joint SentencePiece model.
        max_length: int. Tokens per sentence at most, each side.
        held_out: float. Fraction held out when `eval` is not given.
        max_pairs: optional int. Read at most this many training pairs.
        beam_size: int. Decoding of the evaluation (1: greedy).
        **options: passed to `training.train`.

    Returns:
        dict of the evaluation metrics (`bleu` with sacrebleu's default
        13a tokenisation).

    Example: `translator_tiny` on 60 made-up pairs, one epoch (not run
    with the docstrings, to save the suite 15 s: tests/test_train_cli.py
    trains one that learns its task through `keras-attn train
    translator`, which calls this).

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> words = "one two three four five six".split()
    >>> pairs = [f"{words[i % 6]} {words[(i + 1) % 6]}\\t"
    ...          f"{words[(i + 1) % 6]} {words[i % 6]}" for i in range(60)]
    >>> _ = (folder / "pairs.tsv").write_text("\\n".join(pairs) + "\\n")
    >>> metrics = train_translator(
    ...     folder / "pairs.tsv", folder / "run", vocabulary_size=20,
    ...     max_length=8, epochs=1, batch_size=8,
    ...     verbose=0)  # doctest: +SKIP
    [keras-attn train] ...
    >>> 0.0 <= metrics["bleu"] <= 100.0  # doctest: +SKIP
    True
    """
    import sacrebleu  # noqa: F401  (missing, it fails before training)

    from keras_attn.models.translator import trim_batch

    output = pathlib.Path(output)
    output.mkdir(parents=True, exist_ok=True)
    pairs = data.read_parallel_text(train, max_pairs=max_pairs)
    check_sizes(len(pairs), "A translator")
    pairs, eval_pairs = _held_out_pairs(
        pairs, eval, held_out, options.get("seed", 0)
    )
    translator, build = _new_translator(
        pairs, preset, vocabulary_size, max_length, options.get("seed", 0)
    )

    def preprocess(source, target):
        return trim_batch(*translator.preprocess(source, target))

    sources, targets = (list(side) for side in zip(*pairs, strict=True))
    validation = (
        tf.data.Dataset.from_tensor_slices(
            tuple(list(side) for side in zip(*eval_pairs, strict=True))
        )
        .batch(options.get("batch_size", 32))
        .map(preprocess)
    )
    result = training.train(
        build,
        (sources, targets),
        output_dir=output,
        validation_data=validation,
        map_batch=preprocess,
        metrics=(),
        monitor="val_loss",
        seed_keras=False,  # seeded above
        **options,
    )
    translator.model = result.model
    hypotheses, bleu, signature = _bleu(translator, eval_pairs, beam_size)
    if distribute.is_chief(result.strategy):
        translator.save(output)
        write_predictions(
            output / "eval_predictions.tsv",
            (
                (source, reference, hypothesis)
                for (source, reference), hypothesis in zip(
                    eval_pairs, hypotheses, strict=True
                )
            ),
        )
    metrics = {
        "bleu": round(float(bleu.score), 2),
        "bleu_signature": signature,
        "eval_pairs": len(eval_pairs),
        "train_pairs": len(pairs),
        "beam_size": beam_size,
        "best_epoch": result.best_epoch,
    }
    finish(result, output, metrics, "translator")
    return metrics


def _new_translator(pairs, preset, vocabulary_size, max_length, seed):
    """`(translator, build)`: a `Translator` with a SentencePiece model
    trained on both sides of `pairs`, and the job's `build_model` (a
    `preset` translator of that vocabulary). The translator's model is
    for its preprocessing; `train` builds the one it trains under the
    strategy."""
    from keras_attn import models

    # Seed before the tokenizer exists: TensorFlow's set_seed clears the
    # eager kernel cache, which holds the SentencePiece resource ("Resource
    # ... SentencepieceOp ... does not exist" in tf.data afterwards).
    keras.utils.set_random_seed(seed)
    tokenizer = models.train_translation_tokenizer(
        [side for pair in pairs for side in pair],
        vocabulary_size=vocabulary_size,
    )

    def build():
        if preset in models.RNN_TRANSLATOR_PRESETS:
            # No position table: any length.
            return models.rnn_translator(
                preset, vocabulary_size=tokenizer.vocabulary_size()
            )
        return models.transformer_translator(
            preset,
            vocabulary_size=tokenizer.vocabulary_size(),
            max_sequence_length=max_length,
        )

    translator = models.Translator(
        build(),
        tokenizer,
        max_source_length=max_length,
        max_target_length=max_length,
    )
    return translator, build


def _held_out_pairs(pairs, eval, held_out, seed):
    """`(pairs, eval_pairs)`: the `eval` file's pairs, or those of
    `held_out` of the distinct source sentences (chosen with `seed`)."""
    if eval is not None:
        return pairs, data.read_parallel_text(eval)
    # Split by source sentence: Tatoeba gives one English sentence
    # several translations, and none may be both trained on and scored.
    sources = sorted({source for source, _ in pairs})
    _, held = split(len(sources), held_out, seed)
    held_sources = {sources[i] for i in held}
    eval_pairs = [p for p in pairs if p[0] in held_sources]
    pairs = [p for p in pairs if p[0] not in held_sources]
    say(
        f"held out {len(eval_pairs)} pairs ({len(held)} source "
        "sentences, none of them trained on) for evaluation"
    )
    return pairs, eval_pairs


def _bleu(translator, eval_pairs, beam_size):
    """`(hypotheses, bleu, signature)`: the translations of the sources
    and sacrebleu's corpus BLEU against the targets (13a tokenisation)."""
    import sacrebleu

    eval_sources = [source for source, _ in eval_pairs]
    references = [target for _, target in eval_pairs]
    hypotheses = translator.translate(eval_sources, beam_size=beam_size)
    metric = sacrebleu.metrics.BLEU()
    bleu = metric.corpus_score(hypotheses, [references])
    return hypotheses, bleu, str(metric.get_signature())
