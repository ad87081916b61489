"""Trains the RNN translator (additive attention) on Tatoeba English-French.

    python benchmarks/rnn_translator_tatoeba.py \
        --data path/to/tatoeba-eng-fra/train.tsv --output /tmp/rnn-eng-fra

The split (by English sentence: 85% train, 5% validation, 10% held out),
the joint 4,000-piece SentencePiece vocabulary trained on the training
part, the optimizer recipe (AdamW, warm-up then cosine decay, clipping)
and the scoring (sacrebleu corpus BLEU and chrF, one reference per row,
greedy and beam 4) are those of `translator_tatoeba.py`, whose functions
are imported, so the two translators are measured alike. The translator
is saved to `--output` with a `results.json` and sample translations.

    python benchmarks/rnn_translator_tatoeba.py --latency RNN_DIR \
        [--transformer TRANSFORMER_DIR] --data ... --output results.json

exports saved translators as on-device `.tflite` files (the greedy loop
inside) and times them with LiteRT on held-out sentences: one call per
sentence, 2 threads, the same sentences for each file.

    python benchmarks/rnn_translator_tatoeba.py --draw RNN_DIR \
        --sentence "..." --output alignment.png

draws the alignment of a sentence's greedy translation (needs
matplotlib).
"""

import argparse
import functools
import json
import pathlib
import sys
import time

import keras
import numpy as np

from keras_attn import models

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import translator_tatoeba  # noqa: E402
from translator_tatoeba import read_pairs  # noqa: E402
from translator_tatoeba import split_by_source  # noqa: E402


class _EpochTimes(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(round(time.perf_counter() - self._started, 1))


def train(args):
    overrides = {}
    for key in ("embedding_dim", "encoder_units", "decoder_units"):
        value = getattr(args, key)
        if value is not None:
            overrides[key] = value
    if args.encoder_units is not None:
        overrides["attention_dim"] = 2 * args.encoder_units
    epoch_times = _EpochTimes()
    translator, parts, history, head = translator_tatoeba.train(
        args,
        functools.partial(models.rnn_translator, args.preset, **overrides),
        callbacks=[epoch_times],
    )
    results = {}  # the shared head, with the RNN's two entries in place
    for key, value in head.items():
        results[key] = value
        if key == "preset":
            results["config"] = translator.model.translator_config
        elif key == "train_seconds":
            results["epoch_seconds"] = epoch_times.seconds
    output = pathlib.Path(args.output)
    translator.save(output)  # before scoring, so a slow decode loses nothing
    samples = translator_tatoeba.score(translator, parts, args, results)
    return translator_tatoeba.write_results(
        output, parts, samples, history, results
    )


def litert_latency(args):
    """Exports each saved translator with the greedy loop inside and times
    it with LiteRT on the first `--sentences` held-out English sentences."""
    from ai_edge_litert.interpreter import Interpreter

    from keras_attn.export import translator_to_tflite

    pairs = read_pairs(args.data)[: args.limit]
    sources = [s for s, _ in split_by_source(pairs, args.seed)["test"]]
    sources = list(dict.fromkeys(sources))[: args.sentences]
    folders = {"rnn": args.latency}
    if args.transformer:
        folders["transformer"] = args.transformer
    results = {"sentences": len(sources), "threads": 2}
    scratch = pathlib.Path(args.output).with_suffix("")
    scratch.mkdir(parents=True, exist_ok=True)
    for label, folder in folders.items():
        translator = models.Translator.load(folder)
        path = scratch / f"{label}.tflite"
        report = translator_to_tflite(
            translator, path, num_samples=2, measure_latency=False
        )
        interpreter = Interpreter(str(path), num_threads=2)
        runner = interpreter.get_signature_runner("serving_default")
        ids = np.asarray(translator.encode_source(sources), "int32")
        keras_tokens = np.asarray(
            models.greedy_decode(
                translator.model,
                ids,
                translator.max_target_length,
                models.translator.START_ID,
                models.translator.END_ID,
            )
        )
        runner(source_ids=ids[:1])  # warm-up
        seconds, same, produced = [], 0, []
        for row in range(len(sources)):
            started = time.perf_counter()
            tokens = runner(source_ids=ids[row : row + 1])["tokens"]
            seconds.append(time.perf_counter() - started)
            same += int(np.array_equal(tokens[0], keras_tokens[row]))
            produced.append(int((tokens[0] != 0).sum()))
        results[label] = {
            "folder": str(folder),
            "file_bytes": path.stat().st_size,
            "ops": sorted(report.ops),
            "non_builtin_ops": report.non_builtin_ops,
            "median_ms_per_sentence": round(1e3 * float(np.median(seconds)), 2),
            "mean_ms_per_sentence": round(1e3 * float(np.mean(seconds)), 2),
            "mean_tokens": round(float(np.mean(produced)), 1),
            "same_tokens_as_keras": f"{same}/{len(sources)}",
        }
        print(label, results[label])
    pathlib.Path(args.output).write_text(
        json.dumps(results, indent=2) + "\n", encoding="utf-8"
    )
    return results


def draw(args):
    from keras_attn.models.rnn import draw_alignment

    translator = models.Translator.load(args.draw)
    source, target, weights = draw_alignment(
        translator, args.sentence, args.output
    )
    print(" ".join(source), "->", " ".join(target))
    return {"source": source, "target": target}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    translator_tatoeba.add_recipe_arguments(
        parser, "rnn-translator-eng-fra", "rnn_translator_small"
    )
    parser.add_argument("--embedding-dim", type=int, default=None)
    parser.add_argument("--encoder-units", type=int, default=None)
    parser.add_argument("--decoder-units", type=int, default=None)
    translator_tatoeba.add_training_arguments(parser)
    parser.add_argument(
        "--latency",
        metavar="RNN_DIR",
        default=None,
        help="time saved translators with LiteRT instead of training",
    )
    parser.add_argument("--transformer", metavar="DIR", default=None)
    parser.add_argument("--sentences", type=int, default=50)
    parser.add_argument(
        "--draw",
        metavar="RNN_DIR",
        default=None,
        help="draw the alignment of --sentence to --output",
    )
    parser.add_argument("--sentence", default="I am cold.")
    args = parser.parse_args(argv)
    if args.draw:
        return draw(args)
    if args.latency:
        return litert_latency(args)
    return train(args)


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
