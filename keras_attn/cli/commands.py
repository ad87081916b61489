"""What each `keras-attn` command does, given its parsed arguments.
Long because every command's action is here, one function each, so that
the parser imports nothing heavy.

Every function imports TensorFlow, Keras and the library inside itself,
after the arguments are parsed and checked (`keras_attn.cli.parser`,
`keras_attn.cli.checks`). What only the loaded model can say (its input
names, its channels, the length, class names, tokenizer and image
normalization a task carries) raises `checks.UsageError` before any
export starts; a failure of the work itself is one line on stderr (no
terminal codes, no Keras argument dump) and exit status 2.
"""

import re
import sys

# Terminal colour and style codes (Keras puts bold around its messages).
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Keras's wrapping of an error raised inside a layer's call.
_KERAS_CALL = re.compile(r"^Exception encountered when calling [^\s]+\.\s*")


def _progress(args):
    """`--progress`, or the old `--verbose 0|1|2` of `train`."""
    if getattr(args, "progress", None):
        return args.progress
    old = getattr(args, "fit_verbose", None)
    return {0: "none", 1: "bar", 2: "epoch"}.get(old, "auto")


def one_line(error):
    """`error`'s message as one plain line: no terminal codes, and of an
    error Keras wrapped around a layer's call, only the layer's message
    (not "Exception encountered when calling ..." nor the "Arguments
    received by ..." dump of every argument).

    Example:

    >>> one_line(ValueError(
    ...     "Exception encountered when calling Embedding.call().\\n\\n"
    ...     "\\x1b[1mHolds 16 positions, received 128.\\x1b[0m\\n\\n"
    ...     "Arguments received by Embedding.call():\\n  • x=tf.Tensor(...)"))
    'Holds 16 positions, received 128.'
    """
    text = _ANSI.sub("", str(error))
    text = text.split("Arguments received by ")[0]
    text = " ".join(text.split())
    return _KERAS_CALL.sub("", text) or type(error).__name__


def _fail(args, error):
    """One line on stderr for a failure of the work; exit status 2."""
    name = " ".join(
        part
        for part in ("keras-attn", args.command, getattr(args, "job", ""))
        if part
    )
    print(f"{name}: error: {one_line(error)}", file=sys.stderr)
    return 2


def demo(args):
    from keras_attn.apps import demo

    demo.run(
        output=args.output,
        epochs=args.epochs,
        seed=args.seed,
        num_threads=args.threads,
        progress=_progress(args),
    )
    if args.text_data:
        demo.run_text(
            args.text_data,
            output=args.output,
            rows=args.text_rows,
            seed=args.seed,
            num_threads=args.threads,
            progress=_progress(args),
            text_column=args.text_column,
            label_column=args.label_column or "label",
        )
    return 0


def serve(args):
    import pathlib

    from keras_attn.apps.web_page import serve_page
    from keras_attn.cli.checks import UsageError

    folder = pathlib.Path(args.folder)
    if not (folder / "index.html").is_file():
        raise UsageError(
            "FOLDER",
            "expected a web page folder with an index.html (such as the "
            f"demo's FOLDER/web); {folder} has none",
        )
    modules = pathlib.Path(args.node_modules or folder / "node_modules")
    if not modules.is_dir():
        raise UsageError(
            "--node-modules",
            f"expected the npm packages in {modules}; run `npm install "
            f"--prefix {folder}` once (with the network), or pass "
            "--node-modules DIR",
        )
    try:
        serve_page(folder, modules, args.port)
    except OSError as error:  # the port is taken, say
        return _fail(args, error)
    return 0


def version(args):
    import keras

    import keras_attn

    print(
        f"keras-attn {keras_attn.__version__} "
        f"(keras {keras.__version__}, backend {keras.backend.backend()})"
    )
    return 0


def _load_for_export(path):
    """A `.keras` model, or the task of a run folder (also for the
    `model.keras` inside one: the run's sequence length, vocabulary,
    classes and pixel scaling are the export's defaults), or a Translator
    from its saved folder (the path is checked already)."""
    import pathlib

    from keras_attn.cli.checks import UsageError

    path = pathlib.Path(path)
    if path.is_file() and (path.parent / "task.json").is_file():
        path = path.parent
    if path.is_dir():
        from keras_attn.models import load_task

        try:
            return load_task(path)
        except ValueError as error:
            raise UsageError("MODEL", one_line(error)) from None
    from keras_attn import load_model

    try:
        return load_model(path)  # safe_mode stays on
    except ValueError as error:  # CorruptModelError, or safe mode's refusal
        raise UsageError("MODEL", one_line(error)) from None


def _calibration(path, model):
    """The `--calibration` arrays, one per model input, checked."""
    import numpy as np

    from keras_attn.cli.checks import UsageError

    if path is None:
        return None
    try:
        with np.load(path) as stored:
            arrays = {key: stored[key] for key in stored.files}
    except (OSError, ValueError, EOFError) as error:
        raise UsageError(
            "--calibration", f"{path} is not a NumPy .npz file: {error}"
        ) from None
    inputs = [tensor.name.split(":")[0] for tensor in model.inputs]
    if sorted(arrays) != sorted(inputs):
        raise UsageError(
            "--calibration",
            f"{path} holds the arrays {sorted(arrays)}; expected one per "
            f"model input, named {sorted(inputs)}",
        )
    empty = [
        key for key, value in arrays.items() if value.ndim < 1 or not len(value)
    ]
    if empty:
        raise UsageError(
            "--calibration",
            f"{path}: {empty} hold no examples (examples along the first axis)",
        )
    return arrays


def _check_channels(args, model):
    """`--grayscale` against the model's image channels."""
    from keras_attn.cli.checks import UsageError

    if not (args.mediapipe or "").startswith("image"):
        return
    channels = model.inputs[0].shape[-1]
    if channels == 1 and args.grayscale is None:
        raise UsageError(
            "--grayscale",
            "the model takes one channel; MediaPipe gives RGB: choose how "
            "the file makes it grey (mean or luma)",
        )
    if channels != 1 and args.grayscale is not None:
        raise UsageError(
            "--grayscale",
            f"applies to a model of one channel; this one takes {channels}",
        )


def _check_not_tagger(model):
    """A tagger has no MediaPipe task; its plain file holds what an app
    needs."""
    from keras_attn.cli.checks import NO_MEDIAPIPE_TAGGER
    from keras_attn.cli.checks import UsageError
    from keras_attn.export import tagger

    if tagger.is_tagger(model):
        raise UsageError("--mediapipe", NO_MEDIAPIPE_TAGGER)


def _audio_defaults(args, model):
    """The sample rate of an audio task's file, from the model (a run's
    `AudioClassifier`, whose task.json gives it, or the model's
    spectrogram layer); `UsageError` when it has none, or for the image
    flags."""
    from keras_attn.cli.checks import UsageError
    from keras_attn.export import mediapipe

    for flag, value in (
        ("--normalization", args.normalization),
        ("--grayscale", args.grayscale),
    ):
        if value is not None:
            raise UsageError(
                flag, f"applies to image tasks, not to {args.mediapipe}"
            )
    try:
        args.sample_rate = mediapipe.audio_sample_rate(
            model, getattr(args, "sample_rate", None)
        )
    except ValueError as error:
        raise UsageError(
            "MODEL",
            f"{one_line(error)} Export the run folder of `keras-attn train "
            "audio-classifier` (its task.json gives the rate).",
        ) from None


def _mediapipe_defaults(args, model):
    """What the MediaPipe task needs and the user left out, from the
    model (a task's class names, tokenizer, image normalization, sample
    rate) or else the files beside it (classes.json, vocab.txt);
    `UsageError` naming the flag when neither has it."""
    import pathlib

    from keras_attn.cli.checks import UsageError
    from keras_attn.cli.checks import labels_file
    from keras_attn.export import _defaults

    task = args.mediapipe
    folder = pathlib.Path(args.model).parent
    trained = _defaults.trained_with(model)
    if task.endswith("classifier") and args.labels is None:
        beside = folder / "classes.json"
        if trained.class_names is None and not beside.is_file():
            raise UsageError(
                "--labels",
                f"the {task} task needs the class names (one a line or a "
                f"JSON list); the model has no class_names and {folder} "
                "has no classes.json",
            )
        if trained.class_names is None:
            args.labels = labels_file(beside)
    if task.startswith("text"):
        if args.vocab is None and trained.tokenizer is None:
            if not (folder / "vocab.txt").is_file():
                raise UsageError(
                    "--vocab",
                    f"the {task} task needs the tokenizer's vocab.txt or "
                    "its folder; the model has no preprocessor with a "
                    f"tokenizer and {folder} has no vocab.txt",
                )
            args.vocab = str(folder)
        try:
            _defaults.mediapipe_length(
                model, args.sequence_length, name="--sequence-length"
            )
        except ValueError as error:
            raise UsageError("--sequence-length", str(error)) from None
    elif task.startswith("audio"):
        _audio_defaults(args, model)
    elif args.normalization is None and trained.normalization is None:
        raise UsageError(
            "--normalization",
            f"the {task} task needs MEAN,STD such that the model input is "
            "(pixel - MEAN) / STD of 0..255 pixels (0,255 for keras-attn's "
            "ViTs); the model has no preprocessor with an image converter",
        )


def _check_length(args, model):
    """`--sequence-length` against the model (`UsageError` when it has an
    unknown length and no preprocessor to say its own, or a position
    table shorter than asked)."""
    from keras_attn.cli.checks import UsageError
    from keras_attn.export import _defaults

    try:
        _defaults.tflite_length(
            model, args.sequence_length, name="--sequence-length"
        )
    except ValueError as error:
        raise UsageError("--sequence-length", str(error)) from None


def _saved_model(args, model):
    from keras_attn import export
    from keras_attn.export import _defaults

    length = args.sequence_length
    if length == _defaults.DYNAMIC:
        length = None
    preprocessor = None
    if args.preprocessor:
        from keras_attn.models import load_bert_preprocessor

        trained = _defaults.trained_with(model).sequence_length
        preprocessor = load_bert_preprocessor(
            args.preprocessor, sequence_length=length or trained or 128
        )
    return export.to_saved_model(
        model,
        args.output,
        preprocessor=preprocessor,
        sequence_length=length,
    )


def _tflite(args, model):
    from keras_attn import export
    from keras_attn.models import Translator

    options = dict(num_threads=args.threads)
    if not isinstance(model, Translator):
        options.update(
            quantization=args.quantize,
            representative_data=_calibration(args.calibration, model),
            accelerators=args.accelerators,
            soc_models=args.soc,
            gpu_delegate=args.gpu_delegate,
        )
    elif args.gpu_delegate:
        from keras_attn.cli.checks import UsageError

        raise UsageError(
            "--gpu-delegate",
            "a translator's file decodes in a loop (WHILE), which runs on "
            "the CPU only; export its encoder for a GPU",
        )
    if args.mediapipe:
        _check_not_tagger(model)
        _check_channels(args, model)
        _mediapipe_defaults(args, model)
        if args.mediapipe.startswith("audio"):
            options.update(sample_rate=args.sample_rate)
        return export.to_mediapipe(
            model,
            args.output,
            args.mediapipe,
            labels=args.labels,
            vocabulary=args.vocab,
            normalization=args.normalization,
            grayscale=args.grayscale,
            sequence_length=args.sequence_length,
            probabilities=args.probabilities,
            **options,
        )
    if not isinstance(model, Translator):
        _check_length(args, model)
        options.update(batch_size=args.batch_size, allow_flex=args.allow_flex)
    return export.to_tflite(
        model, args.output, sequence_length=args.sequence_length, **options
    )


def export(args):
    from keras_attn import export
    from keras_attn.models import Translator

    model = _load_for_export(args.model)
    try:
        if args.to == "saved_model":
            if isinstance(model, Translator):
                from keras_attn.cli.checks import UsageError

                raise UsageError(
                    "--to",
                    "a Translator exports to tflite (the on-device "
                    "translator); save its model.keras for SavedModel",
                )
            report = _saved_model(args, model)
        else:
            report = _tflite(args, model)
    except (export.UnsupportedOpsError, OSError, ValueError) as error:
        return _fail(args, error)
    print(report)
    if args.mediapipe:
        print(f"MediaPipe {args.mediapipe} file written to {args.output}")
    if args.report:
        report.save(args.report)
        print(f"report written to {args.report}")
    return 0


def inspect(args):
    from keras_attn.export import inspect_tflite
    from keras_attn.export.report import format_inspection

    try:
        info = inspect_tflite(args.file)
    except (OSError, ValueError) as error:
        return _fail(args, error)
    print(format_inspection(info))
    if args.accelerators:
        from keras_attn.export import accelerators

        checks = accelerators.check_accelerators(
            args.file, None, args.accelerators, args.soc
        )
        print("accelerators (compiled, not run: no inputs given)")
        print(accelerators.format_checks(checks))
    return 0


def _check_preset(args, presets):
    from keras_attn.cli.checks import UsageError

    if args.preset is not None and args.preset not in presets:
        raise UsageError(
            "--preset",
            f"expected one of {', '.join(sorted(presets))} for {args.job}; "
            f"got {args.preset!r}",
        )


def train(args):
    from keras_attn import models
    from keras_attn.apps import jobs

    presets = {
        "text-classifier": models.BERT_PRESETS,
        "token-classifier": models.BERT_PRESETS,
        "translator": {
            **models.TRANSLATOR_PRESETS,
            **models.RNN_TRANSLATOR_PRESETS,
        },
        "vit": models.VIT_PRESETS,
        "audio-classifier": models.AUDIO_PRESETS,
    }
    _check_preset(args, presets[args.job])
    options = dict(
        strategy=args.strategy,
        precision=args.precision,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        validation_freq=args.validation_freq,
        seed=args.seed,
        verbose=_progress(args),
    )
    if args.learning_rate is None:
        del options["learning_rate"]  # each job's own default
    try:
        if args.job == "text-classifier":
            jobs.train_text_classifier(
                args.train,
                args.output,
                eval=args.eval,
                pretrained=args.pretrained,
                preset=args.preset or "bert_tiny",
                vocabulary_size=args.vocabulary_size,
                sequence_length=args.sequence_length,
                pooling=args.pooling,
                text_column=args.text_column,
                label_column=args.label_column or "label",
                **options,
            )
        elif args.job == "token-classifier":
            jobs.train_token_classifier(
                args.train,
                args.output,
                eval=args.eval,
                format=args.format,
                tagset=args.tagset,
                pretrained=args.pretrained,
                preset=args.preset or "bert_tiny",
                vocabulary_size=args.vocabulary_size,
                sequence_length=args.sequence_length,
                max_sentences=args.max_sentences,
                **options,
            )
        elif args.job == "audio-classifier":
            jobs.train_audio_classifier(
                args.train,
                args.output,
                eval=args.eval,
                preset=args.preset or "audio_tiny",
                sample_rate=args.sample_rate,
                clip_seconds=args.clip_seconds,
                skip_bad_files=args.skip_bad_files,
                **options,
            )
        elif args.job == "translator":
            jobs.train_translator(
                args.train,
                args.output,
                eval=args.eval,
                preset=args.preset or "translator_tiny",
                vocabulary_size=args.vocabulary_size,
                max_length=args.max_length,
                max_pairs=args.max_pairs,
                beam_size=args.beam_size,
                **options,
            )
        else:
            jobs.train_vit(
                args.dataset,
                args.output,
                preset=args.preset,
                image_size=args.image_size,
                data_dir=args.data_dir,
                download=args.download,
                **options,
            )
    except (OSError, ValueError) as error:
        return _fail(args, error)
    return 0


def predict(args):
    from keras_attn.cli.predicting import predict

    return predict(args)
