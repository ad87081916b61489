"""What each `keras-attn` command does, given its parsed arguments.

Every function imports TensorFlow, Keras and the library inside itself,
after the arguments are parsed (`keras_attn.cli.parser`).
"""

import sys


def demo(args):
    from keras_attn.apps import demo

    demo.run(
        output=args.output,
        epochs=args.epochs,
        seed=args.seed,
        num_threads=args.threads,
    )
    if args.text_data:
        demo.run_text(
            args.text_data,
            output=args.output,
            rows=args.text_rows,
            seed=args.seed,
            num_threads=args.threads,
        )
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
    """A `.keras` model, or a Translator from its saved folder."""
    import pathlib

    path = pathlib.Path(path)
    if path.is_dir():
        if not (path / "translator.json").is_file():
            raise SystemExit(
                f"keras-attn export: {path} is a folder without "
                "translator.json; expected a .keras file or a folder written "
                "by Translator.save."
            )
        from keras_attn.models import Translator

        try:
            return Translator.load(path)
        except ValueError as error:
            raise SystemExit(f"keras-attn export: {error}") from None
    if path.suffix != ".keras" or not path.is_file():
        raise SystemExit(
            f"keras-attn export: expected an existing .keras file or a "
            f"Translator folder; received {str(path)!r}."
        )
    from keras_attn import load_model

    try:
        return load_model(path)  # safe_mode stays on
    except ValueError as error:  # CorruptModelError, or safe mode's refusal
        raise SystemExit(f"keras-attn export: {error}") from None


def _calibration(path):
    import numpy as np

    if path is None:
        return None
    with np.load(path) as stored:
        return {key: stored[key] for key in stored.files}


def export(args):
    from keras_attn import export
    from keras_attn.models import Translator

    model = _load_for_export(args.model)
    if args.to == "saved_model":
        if isinstance(model, Translator):
            raise SystemExit(
                "keras-attn export: a Translator exports to tflite (the "
                "on-device translator); save its model.keras for SavedModel."
            )
        if args.quantize:
            raise SystemExit("keras-attn export: --quantize applies to tflite.")
        preprocessor = None
        if args.preprocessor:
            from keras_attn.models import load_bert_preprocessor

            preprocessor = load_bert_preprocessor(
                args.preprocessor, sequence_length=args.sequence_length or 128
            )
        report = export.to_saved_model(
            model,
            args.output,
            preprocessor=preprocessor,
            sequence_length=args.sequence_length,
        )
    else:
        options = {}
        if not isinstance(model, Translator):
            options = dict(
                quantization=args.quantize,
                representative_data=_calibration(args.calibration),
                batch_size=args.batch_size,
                allow_flex=args.allow_flex,
            )
        try:
            report = export.to_tflite(
                model,
                args.output,
                sequence_length=args.sequence_length,
                num_threads=args.threads,
                **options,
            )
        except export.UnsupportedOpsError as error:
            print(f"keras-attn export: {error}", file=sys.stderr)
            return 2
    print(report)
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
        print(f"keras-attn inspect: {error}", file=sys.stderr)
        return 2
    print(format_inspection(info))
    return 0


def train(args):
    from keras_attn.apps import jobs

    options = dict(
        strategy=args.strategy,
        precision=args.precision,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        validation_freq=args.validation_freq,
        seed=args.seed,
        verbose=args.verbose,
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
        print(f"keras-attn train {args.job}: {error}", file=sys.stderr)
        return 2
    return 0
