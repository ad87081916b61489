"""Classify sentences through MediaPipe Tasks, exactly as an app does.

    python examples/mediapipe_text.py --sentence "What a lovely film"

    python examples/mediapipe_text.py --model classifier.keras \\
        --vocab path/to/checkpoint --labels labels.txt --sentence "..."

Exports a BERT text classifier with `keras_attn.export.to_mediapipe`: a
`.tflite` file that holds the WordPiece vocabulary and the labels as TFLite
Metadata. Then it loads that file in MediaPipe's Python Tasks API
(`mediapipe.tasks.python.text.TextClassifier`) and classifies each
`--sentence` from its text alone: MediaPipe tokenizes, runs the model and
names the classes, as its Kotlin, Swift and JavaScript APIs do on a phone
or in a browser. Where the checkpoint's tokenizer strips accents or
lowercases every letter (MediaPipe's lowercases A-Z only), the text goes
through `keras_attn.export.mediapipe_text` first, the line an app adds.

By default it trains a tiny BERT for a few seconds on made-up reviews with
a made-up vocabulary (offline, nothing downloaded). `--model` (a `.keras`
classifier), `--vocab` (its checkpoint folder with vocab.txt) and
`--labels` (one class name a line) take a real one.

It prints each sentence's label and score from MediaPipe beside Keras's
(the `.keras` model on the checkpoint tokenizer's ids) and writes them to
`--output/results.json`.
"""

import argparse
import json
import pathlib

SENTENCES = [
    "What a lovely, superb film!",
    "The story was dull and the acting awful.",
    "A fine film.",
    "Un film très réussi, naïve and GREAT",
    "",
]
WORDS = {
    "positive": "good great fine lovely superb".split(),
    "negative": "bad awful poor dull boring".split(),
}
FILLER = "the film was a and it story acting what an".split()
VOCAB = (
    ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    + FILLER
    + WORDS["positive"]
    + WORDS["negative"]
    + ". , ! ? ' - un tres reussi naive ##s ##ly".split()
)


def tiny_checkpoint(folder, sequence_length, seed=0):
    """A BERT classifier trained on made-up reviews, its checkpoint folder
    (vocab.txt, uncased tokenizer_config.json) and its labels."""
    import keras
    import numpy as np

    from keras_attn import models

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    config = {"do_lower_case": True}
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    labels = ["negative", "positive"]
    rng = np.random.default_rng(seed)
    texts, targets = [], []
    for _ in range(320):
        target = int(rng.integers(0, 2))
        words = list(rng.choice(FILLER, size=4))
        words.append(rng.choice(WORDS[labels[target]]))
        rng.shuffle(words)
        texts.append(" ".join(words).capitalize() + rng.choice([".", "!"]))
        targets.append(target)
    keras.utils.set_random_seed(seed)
    backbone = models.bert_backbone(
        vocabulary_size=len(VOCAB),
        num_layers=1,
        hidden_dim=32,
        num_heads=2,
        intermediate_dim=64,
        max_sequence_length=sequence_length,
    )
    model = models.bert_text_classifier(backbone, num_classes=2)
    preprocessor = models.load_bert_preprocessor(folder, sequence_length)
    features = {k: np.asarray(v) for k, v in preprocessor(texts).items()}
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(features, np.array(targets), epochs=6, batch_size=32, verbose=0)
    return model, labels


def keras_probabilities(model, preprocessor, sentence):
    """The `.keras` model's softmax on the checkpoint tokenizer's ids."""
    import numpy as np

    features = {k: np.asarray(v) for k, v in preprocessor([sentence]).items()}
    logits = np.asarray(model(features), "float64")[0]
    exp = np.exp(logits - logits.max())
    return exp / exp.sum()


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n", 1)[1],
    )
    parser.add_argument("--model", help="a .keras BERT text classifier")
    parser.add_argument("--vocab", help="its checkpoint folder (vocab.txt)")
    parser.add_argument("--labels", help="class names, one a line")
    parser.add_argument("--sentence", action="append")
    parser.add_argument("--sequence-length", type=int, default=32)
    parser.add_argument("--output", default="mediapipe-text")
    args = parser.parse_args(argv)
    given = [args.model, args.vocab, args.labels]
    if any(given) and not all(given):
        parser.error("--model, --vocab and --labels go together")

    import numpy as np

    from keras_attn import export
    from keras_attn import models

    output = pathlib.Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    if args.model:
        import keras

        model = keras.saving.load_model(args.model)
        vocab, labels = pathlib.Path(args.vocab), args.labels
    else:
        vocab = output / "checkpoint"
        model, labels = tiny_checkpoint(vocab, args.sequence_length)
    path = output / "classifier.tflite"
    report = export.to_mediapipe(
        model,
        path,
        "text_classifier",
        labels=labels,
        vocabulary=vocab,
        sequence_length=args.sequence_length,
        probabilities=True,
        measure_latency=False,
    )
    print(report)
    tokenizer = report.mediapipe["tokenizer"]
    names = report.mediapipe["labels"]

    # What an app does: MediaPipe gets the file and the text, nothing else.
    from mediapipe.tasks.python import text
    from mediapipe.tasks.python.core.base_options import BaseOptions

    options = text.TextClassifierOptions(
        base_options=BaseOptions(model_asset_path=str(path))
    )
    preprocessor = models.load_bert_preprocessor(vocab, args.sequence_length)
    results = []
    with text.TextClassifier.create_from_options(options) as classifier:
        for sentence in args.sentence or SENTENCES:
            app_text = export.mediapipe_text(
                sentence,
                lowercase=tokenizer["lowercase"],
                strip_accents=tokenizer["strip_accents"],
            )
            (head,) = classifier.classify(app_text).classifications
            scores = np.zeros(len(names))
            for category in head.categories:
                scores[category.index] = category.score
            expected = keras_probabilities(model, preprocessor, sentence)
            results.append(
                {
                    "sentence": sentence,
                    "mediapipe_text": app_text,
                    "mediapipe": {
                        "label": head.categories[0].category_name,
                        "scores": scores.tolist(),
                    },
                    "keras": {
                        "label": names[int(np.argmax(expected))],
                        "scores": expected.tolist(),
                    },
                    "max_abs_diff": float(np.max(np.abs(scores - expected))),
                }
            )
            top = head.categories[0]
            print(
                f"{top.category_name:>10} {top.score:.3f}  (Keras "
                f"{results[-1]['keras']['label']} {expected.max():.3f})  "
                f"{sentence!r}"
            )
    worst = max(r["max_abs_diff"] for r in results)
    summary = {"tflite_file": str(path), "max_abs_diff": worst}
    summary["results"] = results
    (output / "results.json").write_text(
        json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8"
    )
    print(
        f"MediaPipe and Keras differ by at most {worst:.2g} on "
        f"{len(results)} sentences; wrote {output / 'results.json'}"
    )


if __name__ == "__main__":
    main()
