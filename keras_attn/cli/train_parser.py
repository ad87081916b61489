"""The options of `keras-attn train` (no TensorFlow or Keras imported)."""

import argparse

from keras_attn._choices import PRECISIONS
from keras_attn._choices import PROGRESS
from keras_attn._choices import STRATEGIES
from keras_attn.cli import commands as actions
from keras_attn.cli.options import PROGRESS_HELP
from keras_attn.cli.options import TrainVerbose
from keras_attn.cli.options import add_text_columns
from keras_attn.cli.options import positive_float
from keras_attn.cli.options import positive_int
from keras_attn.data.tagged_text import FORMATS as TAGGED_FORMATS
from keras_attn.data.tagged_text import TAGSETS


def _common():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--output", required=True, metavar="FOLDER", help="folder to write"
    )
    common.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="auto",
        help="tf.distribute strategy (default auto: a TPU when attached, "
        "else mirrored over several GPUs, else the one GPU or the CPU)",
    )
    common.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="float32",
        help="Keras dtype policy (default float32)",
    )
    common.add_argument(
        "--epochs",
        type=positive_int,
        metavar="N",
        default=3,
        help="training epochs (default 3)",
    )
    common.add_argument(
        "--batch-size",
        type=positive_int,
        metavar="N",
        default=32,
        help="global batch, split across replicas (default 32)",
    )
    common.add_argument(
        "--learning-rate",
        type=positive_float,
        default=None,
        help="peak learning rate (default: the job's)",
    )
    common.add_argument(
        "--validation-freq",
        type=positive_int,
        metavar="N",
        default=1,
        help="evaluate the held-out data every N epochs (default 1)",
    )
    common.add_argument(
        "--seed",
        type=int,
        metavar="N",
        default=0,
        help="seeds the weights, dropout, shuffling and splits (default 0)",
    )
    common.add_argument("--preset", default=None, help="the model's size")
    common.add_argument(
        "--progress", choices=PROGRESS, default=None, help=PROGRESS_HELP
    )
    common.add_argument(
        "--verbose",
        action=TrainVerbose,
        default=argparse.SUPPRESS,
        metavar="0|1|2",
        help="alone: show TensorFlow's C++ start-up logs (hidden by "
        "default); 0, 1, 2: the fit verbosity of older releases, now "
        "--progress none, bar, epoch",
    )
    return common


def add_train(commands, logs):
    """Adds `train` and its jobs to the `commands` subparsers."""
    del logs  # the jobs' --verbose also takes the old fit verbosity
    train = commands.add_parser(
        "train",
        help="train a text classifier, a translator, a ViT, a tagger or an "
        "audio classifier with model.fit",
        description=(
            "Trains with model.fit under a tf.distribute strategy and "
            "writes model.keras, history.json, metrics.json, "
            "eval_predictions.tsv, training_curves.png and TensorBoard "
            "logs to --output. Run the same command again after a crash "
            "to resume from the last completed epoch."
        ),
    )
    jobs = train.add_subparsers(dest="job", required=True, metavar="JOB")
    common = _common()

    text = jobs.add_parser(
        "text-classifier",
        parents=[common],
        help="a BERT classifier on a TSV or CSV of labelled sentences",
        description=(
            "Fine-tunes (--pretrained) or trains a BERT classifier on a "
            "TSV or CSV with a header row. Labels are class ids 0, 1, ... or "
            "class names (pos, neg, ...), numbered in sorted order; "
            "classes.json in --output lists the names, index = the model's "
            "output."
        ),
    )
    text.add_argument(
        "--train",
        required=True,
        metavar="FILE",
        help=".tsv or .csv with a header row",
    )
    text.add_argument(
        "--eval",
        metavar="FILE",
        help="held-out .tsv or .csv, same columns (default: 10%% of --train)",
    )
    add_text_columns(text, "--train and --eval")
    text.add_argument(
        "--pretrained",
        metavar="FOLDER",
        help="a local Hugging Face BERT folder to fine-tune; without it "
        "a --preset BERT (default bert_tiny) is trained from scratch",
    )
    text.add_argument(
        "--vocabulary-size",
        type=positive_int,
        metavar="N",
        default=8000,
        help="WordPiece pieces computed from --train without --pretrained "
        "(default 8000)",
    )
    text.add_argument(
        "--sequence-length",
        type=positive_int,
        metavar="N",
        default=128,
        help="tokens per sentence at most (default 128)",
    )
    text.add_argument(
        "--pooling",
        choices=["pooled", "mean"],
        default="pooled",
        help="the sentence vector: BERT's pooled [CLS] or the mean of the "
        "tokens (default pooled)",
    )

    translator = jobs.add_parser(
        "translator",
        parents=[common],
        help="the Transformer translator on a source<TAB>target TSV",
    )
    translator.add_argument(
        "--train", required=True, metavar="FILE", help="TSV of pairs"
    )
    translator.add_argument(
        "--eval", metavar="FILE", help="held-out TSV (default: 10%%)"
    )
    translator.add_argument(
        "--vocabulary-size",
        type=positive_int,
        metavar="N",
        default=2000,
        help="pieces of the joint SentencePiece model (default 2000)",
    )
    translator.add_argument(
        "--max-length",
        type=positive_int,
        metavar="N",
        default=32,
        help="tokens per sentence at most, each side (default 32)",
    )
    translator.add_argument(
        "--max-pairs",
        type=positive_int,
        metavar="N",
        default=None,
        help="read at most N training pairs (default: all)",
    )
    translator.add_argument(
        "--beam-size",
        type=positive_int,
        metavar="N",
        default=1,
        help="beam search of the evaluation (default 1: greedy)",
    )

    vit = jobs.add_parser(
        "vit",
        parents=[common],
        help="a Vision Transformer on digits, CIFAR-10 or an image folder",
    )
    vit.add_argument(
        "--dataset",
        required=True,
        help="digits (bundled with scikit-learn), cifar10 (TensorFlow "
        "Datasets) or a folder with one subfolder of images per class",
    )
    vit.add_argument(
        "--image-size",
        type=positive_int,
        metavar="N",
        default=None,
        help="an image folder's images are resized to N x N (default: the "
        "preset's); the patch size must divide it",
    )
    vit.add_argument(
        "--data-dir", metavar="FOLDER", help="TensorFlow Datasets data folder"
    )
    vit.add_argument(
        "--download",
        action="store_true",
        help="let TensorFlow Datasets download CIFAR-10 (163 MB)",
    )
    _add_token_classifier(jobs, common)
    _add_audio_classifier(jobs, common)
    train.set_defaults(func=actions.train)


def _add_token_classifier(jobs, common):
    tagger = jobs.add_parser(
        "token-classifier",
        parents=[common],
        help="a BERT part-of-speech tagger on CoNLL-U or Brown files",
        description=(
            "Fine-tunes (--pretrained) or trains a BERT tagger (one tag per "
            "word) on CoNLL-U files (the UPOS column) or Brown corpus files "
            "(word/tag tokens). Each file's format is told from its name "
            "(.conllu) or its first line unless --format names it. The tags "
            "are those of --train (classes.json, index = the model's "
            "output), or with --tagset universal the 12 universal tags, so "
            "that Brown and CoNLL-U data score each other. Writes "
            "metrics.json (per-word accuracy, precision, recall and F1 per "
            "tag), eval_predictions.tsv (word, gold and predicted tag per "
            "word, a blank line after each sentence) and "
            "confusion_matrix.png besides the model."
        ),
    )
    tagger.add_argument(
        "--train",
        required=True,
        metavar="PATH",
        help="a CoNLL-U or Brown file, or a folder of them",
    )
    tagger.add_argument(
        "--eval",
        metavar="PATH",
        help="a CoNLL-U or Brown file or folder to evaluate on (default: "
        "10%% of the files of a --train folder of several, whole files; "
        "else 10%% of the sentences of the --train file)",
    )
    tagger.add_argument(
        "--format",
        choices=TAGGED_FORMATS,
        default=None,
        help="the format of every file read (default: each file's own, "
        "from its name or first line)",
    )
    tagger.add_argument(
        "--tagset",
        choices=TAGSETS,
        default="raw",
        help="raw: the tags as written (default); universal: mapped to "
        "the 12 universal tags of Petrov et al.",
    )
    tagger.add_argument(
        "--pretrained",
        metavar="FOLDER",
        help="a local Hugging Face BERT folder to fine-tune; without it "
        "a --preset BERT (default bert_tiny) is trained from scratch",
    )
    tagger.add_argument(
        "--vocabulary-size",
        type=positive_int,
        metavar="N",
        default=8000,
        help="WordPiece pieces computed from --train without --pretrained "
        "(default 8000)",
    )
    tagger.add_argument(
        "--sequence-length",
        type=positive_int,
        metavar="N",
        default=128,
        help="word pieces per sentence in training, [CLS] and [SEP] "
        "included (default 128); the words of longer sentences past it "
        "are cut from training (their count is printed), and evaluation "
        "takes every word, in windows",
    )
    tagger.add_argument(
        "--max-sentences",
        type=positive_int,
        metavar="N",
        default=None,
        help="train on the first N training sentences only, for a quick "
        "run (default: all; the evaluation data stay whole)",
    )


def _add_audio_classifier(jobs, common):
    audio = jobs.add_parser(
        "audio-classifier",
        parents=[common],
        help="an attention audio classifier on a folder of labelled clips",
        description=(
            "Trains an attention audio classifier (--preset, default "
            "audio_tiny) from raw waveforms: a log-mel front end inside the "
            "model, a Transformer encoder and a class-token head. --train "
            "is a folder with one subfolder of WAV or FLAC clips per class "
            "(the subfolder names are the classes, in sorted order); every "
            "clip is mixed to mono, resampled to --sample-rate and padded "
            "with silence or cropped to --clip-seconds. Writes model.keras, "
            "classes.json and task.json (so keras-attn export RUN/model.keras "
            "--to tflite --mediapipe audio_classifier needs no more flags), "
            "metrics.json (accuracy, recall per class, the confusion "
            "matrix), eval_predictions.tsv (clip, true and predicted class) "
            "and confusion_matrix.png."
        ),
    )
    audio.add_argument(
        "--train",
        required=True,
        metavar="FOLDER",
        help="a folder with one subfolder of clips (.wav, .flac) per class",
    )
    audio.add_argument(
        "--eval",
        metavar="FOLDER",
        help="a folder of clips of the same classes to evaluate on "
        "(default: 20%% of each class of --train)",
    )
    audio.add_argument(
        "--sample-rate",
        type=positive_int,
        metavar="N",
        default=None,
        help="the model's samples per second; clips are resampled to it "
        "(default: the preset's, 16000 for audio_tiny)",
    )
    audio.add_argument(
        "--clip-seconds",
        type=positive_float,
        metavar="S",
        default=None,
        help="the model's window in seconds; longer clips are cropped, "
        "shorter ones padded with silence (default: the preset's)",
    )
    audio.add_argument(
        "--skip-bad-files",
        action="store_true",
        help="leave out files that are not audio, are empty or are silent "
        "(a warning counts them and names the first) instead of stopping "
        "at the first",
    )
