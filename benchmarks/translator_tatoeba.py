"""Trains the Transformer translator on Tatoeba English-French; reports BLEU.

    python benchmarks/translator_tatoeba.py \
        --data path/to/tatoeba-eng-fra/train.tsv --output /tmp/eng-fra

The rows are split by English sentence (a sentence and all its French
translations land in one part, so no test source was seen in training):
85% to train on, 5% to keep the best weights by, 10% held out for the
score. A joint SentencePiece vocabulary is trained on the training part
only. Corpus BLEU and chrF come from sacrebleu, one reference per row,
for greedy decoding and for beam search. The translator is saved to
`--output` with a `results.json` and sample translations.
"""

import argparse
import functools
import json
import pathlib
import random
import sys
import time

import keras

from keras_attn import models

ROOT = pathlib.Path(__file__).resolve().parents[1]


def read_pairs(path):
    pairs = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 2:
                raise ValueError(
                    f"{path}:{number}: expected 'english<TAB>french'; "
                    f"received {line!r}."
                )
            pairs.append((fields[0], fields[1]))
    return pairs


def split_by_source(pairs, seed, valid=0.05, test=0.10):
    """Train, validation and test pairs; one source never spans two."""
    sources = sorted({source for source, _ in pairs})
    random.Random(seed).shuffle(sources)
    n_test = int(len(sources) * test)
    n_valid = int(len(sources) * valid)
    test_set = set(sources[:n_test])
    valid_set = set(sources[n_test : n_test + n_valid])
    parts = {"train": [], "valid": [], "test": []}
    for pair in pairs:
        if pair[0] in test_set:
            parts["test"].append(pair)
        elif pair[0] in valid_set:
            parts["valid"].append(pair)
        else:
            parts["train"].append(pair)
    return parts


def bleu(hypotheses, references):
    import sacrebleu

    return (
        sacrebleu.corpus_bleu(hypotheses, [references]).score,
        sacrebleu.corpus_chrf(hypotheses, [references]).score,
    )


def add_recipe_arguments(parser, output, preset):
    """Adds the options of the training recipe both translators share.

    Args:
        parser: an `argparse.ArgumentParser`.
        output: the default of `--output`.
        preset: the default of `--preset`.

    Returns:
        The parser.
    """
    parser.add_argument(
        "--data",
        required=True,
        metavar="TSV",
        help="Tatoeba English<TAB>French pairs",
    )
    parser.add_argument("--output", default=output)
    parser.add_argument("--preset", default=preset)
    return parser


def add_training_arguments(parser):
    """Adds the recipe's sizes, schedule, decoding and data options."""
    parser.add_argument("--vocabulary-size", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--beam-size", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--limit", type=int, default=None, help="use only the first N rows"
    )
    return parser


def train(args, build_model, callbacks=()):
    """Splits the data, trains the tokenizer and fits a translator.

    The recipe: split by English sentence, a joint SentencePiece vocabulary
    of the training part, AdamW (weight decay 0.01, clipping at norm 1)
    with a linear warm-up over the first 5% of the steps then cosine
    decay, and the weights of the best validation loss restored.

    Args:
        args: the parsed command line (`add_recipe_arguments` and
            `add_training_arguments`).
        build_model: called as `build_model(vocabulary_size=...,
            dropout=...)`; returns the encoder-decoder Keras model.
        callbacks: more Keras callbacks for `fit`, run before the
            early stopping.

    Returns:
        `(translator, parts, history, results)`: the trained
        `models.Translator`, the split rows, the `fit` history and the
        results' head (rows, preset, parameters, vocabulary size, epochs,
        training seconds, best validation loss).
    """
    keras.utils.set_random_seed(args.seed)
    pairs = read_pairs(args.data)[: args.limit]
    parts = split_by_source(pairs, args.seed)
    print({name: len(rows) for name, rows in parts.items()})

    started = time.perf_counter()
    tokenizer = models.train_translation_tokenizer(
        [s for pair in parts["train"] for s in pair],
        vocabulary_size=args.vocabulary_size,
    )
    model = build_model(
        vocabulary_size=tokenizer.vocabulary_size(), dropout=args.dropout
    )
    translator = models.Translator(
        model,
        tokenizer,
        max_source_length=args.max_length,
        max_target_length=args.max_length,
    )
    train_data = translator.dataset(
        parts["train"], batch_size=args.batch_size, seed=args.seed
    )
    valid = translator.dataset(parts["valid"], shuffle=False)
    steps = args.epochs * len(train_data)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0,
        decay_steps=steps - steps // 20,
        warmup_target=args.learning_rate,
        warmup_steps=steps // 20,
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(
            schedule, weight_decay=0.01, clipnorm=1.0
        ),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        weighted_metrics=["accuracy"],
    )
    model.summary()
    history = model.fit(
        train_data,
        validation_data=valid,
        epochs=args.epochs,
        shuffle=False,  # the dataset reshuffles itself every epoch
        verbose=2,
        callbacks=[
            *callbacks,
            keras.callbacks.EarlyStopping(
                "val_loss", patience=args.epochs, restore_best_weights=True
            ),
        ],
    )
    trained = time.perf_counter() - started
    results = {
        "rows": {name: len(rows) for name, rows in parts.items()},
        "preset": args.preset,
        "parameters": model.count_params(),
        "vocabulary_size": tokenizer.vocabulary_size(),
        "epochs": args.epochs,
        "train_seconds": round(trained, 1),
        "best_val_loss": float(min(history.history["val_loss"])),
    }
    return translator, parts, history, results


def score(translator, parts, args, results):
    """Decodes the test part greedily and with `--beam-size`; scores it.

    Args:
        translator: a trained `models.Translator`.
        parts: the split rows (`train`'s).
        args: the parsed command line.
        results: a dict; gets a `greedy` and a `beam<N>` entry (BLEU,
            chrF, decoding seconds).

    Returns:
        A dict of the hypotheses per label (`greedy`, `beam<N>`).
    """
    sources = [source for source, _ in parts["test"]]
    references = [target for _, target in parts["test"]]
    samples = {}
    for beam in (1, args.beam_size):
        started = time.perf_counter()
        hypotheses = translator.translate(
            sources, beam_size=beam, jit_compile=True
        )
        seconds = time.perf_counter() - started
        bleu_score, chrf = bleu(hypotheses, references)
        label = "greedy" if beam == 1 else f"beam{beam}"
        results[label] = {
            "bleu": round(bleu_score, 2),
            "chrf": round(chrf, 2),
            "decode_seconds": round(seconds, 1),
        }
        samples[label] = hypotheses
        print(label, results[label])
    return samples


def write_results(output, parts, samples, history, results):
    """Writes `samples.tsv` and `results.json` (with the history) to
    `output`, a folder the translator was saved to; returns `results`."""
    sources = [source for source, _ in parts["test"]]
    references = [target for _, target in parts["test"]]
    with open(output / "samples.tsv", "w", encoding="utf-8") as handle:
        handle.write("source\treference\tgreedy\tbeam\n")
        for row in zip(sources, references, *samples.values(), strict=True):
            handle.write("\t".join(row) + "\n")
    results["history"] = {
        key: [float(v) for v in values]
        for key, values in history.history.items()
    }
    (output / "results.json").write_text(
        json.dumps(results, indent=2) + "\n", encoding="utf-8"
    )
    for row in list(zip(sources, samples["greedy"], strict=True))[:10]:
        print(" -> ".join(row))
    print(f"saved to {output}")
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_recipe_arguments(parser, "translator-eng-fra", "translator_small")
    add_training_arguments(parser)
    args = parser.parse_args(argv)

    translator, parts, history, results = train(
        args, functools.partial(models.transformer_translator, args.preset)
    )
    samples = score(translator, parts, args, results)
    output = pathlib.Path(args.output)
    translator.save(output)
    return write_results(output, parts, samples, history, results)


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
