"""Every misuse of `keras-attn` is one line naming the flag, exit status 2.

Each bad invocation runs the installed command line in a child process,
as a user would, and must end with exit status 2 and exactly one line on
stderr that names the flag, no traceback, nothing on stdout, and no work
started: nothing is written to the output folders. All but two are found
before TensorFlow loads (they answer in well under a second; the timeout
only guards against a hang); the two that need the model (the names of
its inputs, the presets of its family) load it first.
"""

import argparse
import subprocess
import sys

import keras
import numpy as np
import pytest

# Answers before TensorFlow loads; the few that load a model get longer.
FAST_S = 120
SLOW_S = 600


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The files the bad invocations name (good and bad ones)."""
    root = tmp_path_factory.mktemp("misuse")

    def write(name, text, encoding="utf-8"):
        path = root / name
        path.write_bytes(text.encode(encoding))
        return path

    rows = "".join(f"{i % 2}\tsentence {i}\n" for i in range(20))
    write("good.tsv", "label\tsentence\n" + rows)
    write("reviews.csv", "review,sentiment\ngreat,pos\ndull,neg\n")
    write("body.tsv", "label\tbody\n0\tfine\n1\tgood\n")
    write("notes.txt", "label\tsentence\n0\tfine\n")
    write("empty.tsv", "")
    write("latin1.tsv", "label\tsentence\n0\tcafé\n", encoding="latin-1")
    write("mixed.tsv", "label\tsentence\n0\tfine\npos\tgood\n")
    write("names.tsv", "label\tsentence\nneg\tdull\npos\tgreat\n")
    write("other_names.tsv", "label\tsentence\nmeh\tso so\n")
    write("one_column.tsv", "only a source\n")
    write("labels.txt", "neg\npos\n")
    write("file.txt", "not a folder\n")
    (root / "folder.tsv").mkdir()
    (root / "no_config").mkdir()
    (root / "images").mkdir()
    write("words.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\ncat\n")
    inputs = keras.Input((4,), name="x")
    model = keras.Model(inputs, keras.layers.Dense(2, name="y")(inputs))
    model.save(root / "dense.keras")
    # As `keras-attn train text-classifier --sequence-length 16` builds
    # it from scratch: a position table of 16, inputs of unknown length.
    from keras_attn import models

    backbone = models.bert_backbone(
        vocabulary_size=6, num_layers=1, hidden_dim=8, num_heads=1,
        intermediate_dim=8, max_sequence_length=16,
    )  # fmt: skip
    models.bert_text_classifier(backbone, 2).save(root / "bert16.keras")
    (root / "dense.tflite").write_bytes(b"")  # named only, never read
    np.savez(root / "wrong_key.npz", images=np.ones((4, 4), "float32"))
    return root


# (id, arguments, the flag the error names, needs TensorFlow)
BAD = [
    ("missing text file", "demo --text-data missing.tsv", "--text-data"),
    ("text file suffix", "demo --text-data notes.txt", "--text-data"),
    ("a folder for a file", "demo --text-data folder.tsv", "--text-data"),
    ("empty text file", "demo --text-data empty.tsv", "--text-data"),
    ("text file not UTF-8", "demo --text-data latin1.tsv", "--text-data"),
    ("no label column", "demo --text-data reviews.csv", "--label-column"),
    (
        "unknown text column",
        "demo --text-data reviews.csv --label-column sentiment "
        "--text-column body",
        "--text-column",
    ),
    ("no text column", "demo --text-data body.tsv", "--text-column"),
    ("numbers and names", "demo --text-data mixed.tsv", "--text-data"),
    ("zero epochs", "demo --epochs 0", "--epochs"),
    (
        "sequence length neither int nor dynamic",
        "export dense.keras --to tflite --sequence-length auto "
        "--output m.tflite",
        "--sequence-length",
    ),
    ("epochs not a number", "demo --epochs ten", "--epochs"),
    ("negative seed", "demo --seed -1", "--seed"),
    ("bad progress choice", "demo --progress loud", "--progress"),
    ("column without data", "demo --text-column review", "--text-column"),
    (
        "too few text rows",
        "demo --text-data good.tsv --text-rows 3",
        "--text-rows",
    ),
    (
        "int8 without calibration",
        "export dense.keras --to tflite --quantize int8 --output m.tflite",
        "--calibration",
    ),
    (
        "calibration without int8",
        "export dense.keras --to tflite --calibration wrong_key.npz "
        "--output m.tflite",
        "--calibration",
    ),
    (
        "calibration wrong suffix",
        "export dense.keras --to tflite --quantize int8 --calibration "
        "good.tsv --output m.tflite",
        "--calibration",
    ),
    (
        "wrong output suffix",
        "export dense.keras --to tflite --output m.tfl",
        "--output",
    ),
    (
        "output is a folder",
        "export dense.keras --to tflite --output folder.tsv",
        "--output",
    ),
    (
        "missing model",
        "export missing.keras --to tflite --output m.tflite",
        "MODEL",
    ),
    ("model suffix", "export notes.txt --to tflite --output m.tflite", "MODEL"),
    (
        "a folder that is no Translator",
        "export no_config --to tflite --output m.tflite",
        "MODEL",
    ),
    ("bad --to choice", "export dense.keras --to onnx --output m.onnx", "--to"),
    (
        "quantize a SavedModel",
        "export dense.keras --to saved_model --quantize float16 --output sm",
        "--quantize",
    ),
    (
        "preprocessor for tflite",
        "export dense.keras --to tflite --preprocessor no_config "
        "--output m.tflite",
        "--preprocessor",
    ),
    ("missing --output", "export dense.keras --to tflite", "--output"),
    (
        "labels without --mediapipe",
        "export dense.keras --to tflite --labels labels.txt --output m.tflite",
        "--labels",
    ),
    (
        "normalization not two numbers",
        "export dense.keras --to tflite --mediapipe image_classifier "
        "--normalization 0 --output m.tflite",
        "--normalization",
    ),
    (
        "vocabulary for an image task",
        "export dense.keras --to tflite --mediapipe image_embedder "
        "--normalization 0,255 --vocab labels.txt --output m.tflite",
        "--vocab",
    ),
    (
        "mediapipe into a SavedModel",
        "export dense.keras --to saved_model --mediapipe text_embedder "
        "--output sm",
        "--mediapipe",
    ),
    (
        "unknown mediapipe task",
        "export dense.keras --to tflite --mediapipe pose --output m.tflite",
        "--mediapipe",
    ),
    (
        "unknown accelerator",
        "export dense.keras --to tflite --accelerators gpu,tpu "
        "--output m.tflite",
        "--accelerators",
    ),
    (
        "SoC without the NPU",
        "export dense.keras --to tflite --accelerators gpu --soc SM8650 "
        "--output m.tflite",
        "--soc",
    ),
    ("inspect a missing file", "inspect missing.tflite", "FILE"),
    ("inspect a .keras file", "inspect dense.keras", "FILE"),
    ("inspect an empty file", "inspect dense.tflite", "FILE"),
    (
        "inspect an unknown SoC",
        "inspect dense.tflite --accelerators npu --soc SM9999",
        "--soc",
    ),
    (
        "train without the label column",
        "train text-classifier --train reviews.csv --output run",
        "--label-column",
    ),
    (
        "same text and label column",
        "train text-classifier --train reviews.csv --text-column sentiment "
        "--label-column sentiment --output run",
        "--label-column",
    ),
    (
        "evaluation class not trained on",
        "train text-classifier --train names.tsv --eval other_names.tsv "
        "--output run",
        "--eval",
    ),
    (
        "pretrained folder without config.json",
        "train text-classifier --train good.tsv --pretrained no_config "
        "--output run",
        "--pretrained",
    ),
    (
        "translator pairs of one column",
        "train translator --train one_column.tsv --output run",
        "--train",
    ),
    (
        "dataset is a file",
        "train vit --dataset notes.txt --output run",
        "--dataset",
    ),
    (
        "output is a file",
        "train vit --dataset digits --output file.txt",
        "--output",
    ),
    (
        "learning rate of zero",
        "train vit --dataset digits --learning-rate 0 --output run",
        "--learning-rate",
    ),
    (
        "unknown strategy",
        "train vit --dataset digits --strategy gpus --output run",
        "--strategy",
    ),
    (
        "old --verbose with a bad level",
        "train vit --dataset digits --verbose 3 --output run",
        "--verbose",
    ),
    ("predict with a missing model", "predict missing.tflite film", "MODEL"),
    ("predict with a folder that is no run", "predict no_config film", "MODEL"),
    ("predict with a text file", "predict notes.txt film", "MODEL"),
    (
        "predict with an empty .tflite file",
        "predict dense.tflite film",
        "MODEL",
    ),
    ("predict without inputs", "predict dense.keras", "INPUT"),
    (
        "predict with a missing --input file",
        "predict dense.keras --input missing.txt",
        "--input",
    ),
    ("predict the top 0", "predict dense.keras film --top 0", "--top"),
    ("unknown command", "deploy", "COMMAND"),
    ("unknown flag", "demo --epoks 3", "--epoks"),
]
# These need the model (its input names, its family's presets, what a task
# carries: class names, tokenizer, image normalization, trained length).
NEEDS_TENSORFLOW = [
    (
        "image task without normalization",
        "export dense.keras --to tflite --mediapipe image_classifier "
        "--labels labels.txt --output m.tflite",
        "--normalization",
    ),
    (
        "text task without vocabulary",
        "export dense.keras --to tflite --mediapipe text_classifier "
        "--labels labels.txt --output m.tflite",
        "--vocab",
    ),
    (
        "classifier without labels",
        "export dense.keras --to tflite --mediapipe image_classifier "
        "--normalization 0,255 --output m.tflite",
        "--labels",
    ),
    (
        "unknown length and no --sequence-length",
        "export bert16.keras --to tflite --output m.tflite",
        "--sequence-length",
    ),
    (
        "mediapipe length above the position table",
        "export bert16.keras --to tflite --mediapipe text_classifier "
        "--labels labels.txt --vocab words.txt --sequence-length 128 "
        "--output m.tflite",
        "--sequence-length",
    ),
    (
        "calibration arrays not the model's inputs",
        "export dense.keras --to tflite --quantize int8 --calibration "
        "wrong_key.npz --output m.tflite",
        "--calibration",
    ),
    (
        "unknown preset",
        "train vit --dataset images --preset vit_huge --output run",
        "--preset",
    ),
    (
        "predict with a .keras model that is no task",
        "predict dense.keras film",
        "MODEL",
    ),
]


def run_cli(arguments, folder, timeout):
    return subprocess.run(
        [sys.executable, "-m", "keras_attn.cli", *arguments.split()],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=folder,
    )


def assert_one_line_naming(result, flag, folder):
    lines = result.stderr.splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    # Plain text: no terminal codes, no Keras dump of a call's arguments.
    assert "\x1b" not in result.stderr, result.stderr
    assert "Arguments received" not in result.stderr
    assert f"argument {flag}" in lines[0] or f": {flag}" in lines[0], lines
    assert lines[0].startswith("keras-attn"), lines
    assert result.stdout == ""
    # Nothing started: no run folder, no demo folder, no exported file.
    for name in ("run", "keras-attn-demo", "m.tflite", "sm"):
        assert not (folder / name).exists(), name


def test_an_error_keras_raised_in_a_layer_is_one_plain_line():
    """What `keras-attn` printed for a 16-position model called at 128
    tokens: Keras's "Exception encountered when calling ...", the
    message in bold, then every argument. The command prints the
    message only."""
    from keras_attn import models
    from keras_attn.cli.commands import one_line

    backbone = models.bert_backbone(
        vocabulary_size=6, num_layers=1, hidden_dim=8, num_heads=1,
        intermediate_dim=8, max_sequence_length=16,
    )  # fmt: skip
    ids = np.ones((1, 128), "int32")
    inputs = {"token_ids": ids, "segment_ids": 0 * ids, "padding_mask": ids}
    with pytest.raises(ValueError) as raised:
        backbone(inputs)
    raw = str(raised.value)
    # What Keras gives (so the test can fail): codes, several lines.
    assert "\x1b[" in raw and "Arguments received by" in raw
    assert "\n" in raw
    assert one_line(raised.value) == (
        "PositionalEmbedding holds 16 positions (sequence_length=16), but "
        "received a sequence of length 128."
    )
    plain = ValueError("A plain\n  message over two lines.")
    assert one_line(plain) == "A plain message over two lines."


def test_the_list_is_long_and_names_many_flags():
    assert len(BAD) + len(NEEDS_TENSORFLOW) >= 15
    assert len({flag for _, _, flag in BAD}) >= 20


@pytest.mark.parametrize(
    "arguments, flag", [case[1:] for case in BAD], ids=[c[0] for c in BAD]
)
def test_misuse_is_one_line_naming_the_flag(files, arguments, flag):
    result = run_cli(arguments, files, FAST_S)
    assert_one_line_naming(result, flag, files)


@pytest.mark.parametrize(
    "arguments, flag",
    [case[1:] for case in NEEDS_TENSORFLOW],
    ids=[c[0] for c in NEEDS_TENSORFLOW],
)
def test_misuse_the_model_shows_is_one_line_too(files, arguments, flag):
    result = run_cli(arguments, files, SLOW_S)
    assert_one_line_naming(result, flag, files)


def test_help_and_mistakes_load_no_tensorflow(files):
    """`--help` and the checks run before TensorFlow is imported."""
    code = (
        "import sys\n"
        "from keras_attn.cli import main\n"
        "for argv in (['--help'], ['demo', '--help'],\n"
        "             ['demo', '--text-data', 'reviews.csv'],\n"
        "             ['train', 'text-classifier', '--train', 'good.tsv',\n"
        "              '--eval', 'other_names.tsv', '--output', 'run'],\n"
        "             ['predict', 'no_config', 'film']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "assert 'tensorflow' not in sys.modules, 'TensorFlow was loaded'\n"
        "assert 'keras' not in sys.modules, 'Keras was loaded'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=FAST_S,
        cwd=files,
    )
    assert result.returncode == 0, result.stderr


def _parsers(parser, name="keras-attn"):
    """`(name, parser)` of every command and job, recursively."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command, child in action.choices.items():
                yield from _parsers(child, f"{name} {command}")


def test_demo_help_documents_every_flag():
    result = run_cli("demo --help", ".", FAST_S)
    assert result.returncode == 0
    for flag in (
        "--output",
        "--epochs",
        "--seed",
        "--threads",
        "--progress",
        "--text-data",
        "--text-rows",
        "--text-column",
        "--label-column",
        "--verbose",
    ):
        assert flag in result.stdout, flag


def test_every_option_of_every_command_has_help():
    from keras_attn.cli import build_parser

    for name, parser in _parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help, f"{name} {action.option_strings}: no help"


# -- keras-attn train token-classifier: its corpora's mistakes ---------------


@pytest.fixture(scope="module")
def tagged(tmp_path_factory):
    """Tagged corpora, good and bad, for the tagger job."""
    root = tmp_path_factory.mktemp("tagged")
    (root / "brown").mkdir()
    (root / "brown" / "ca01").write_text(
        "\tThe/at cat/nn sat/vbd ./.\n\n\tA/at dog/nn ran/vbd ./.\n"
    )
    (root / "brown" / "ca02").write_text("\tThe/at dog/nn sat/vbd ./.\n")
    (root / "bad.txt").write_text("The/at cat/nn\nthe cat/nn\n")
    word = "1\tThe\tthe\tDET\t_\t_\t_\t_\t_\t_\n"
    (root / "upos.conllu").write_text(
        "# text = The cat\n" + word + "2\tcat\tcat\tNOUN\t_\t_\t_\t_\t_\t_\n\n"
    )
    (root / "short.conllu").write_text(word + "2\tcat\tcat\tNOUN\n\n")
    (root / "empty.conllu").write_text(
        word + "\n# sent_id = 2\n# text = nothing\n\n"
    )
    return root


# (id, arguments, the flag the error names, what else the line must say)
TAGGER_BAD = [
    (
        "a Brown token without a tag",
        "--train bad.txt",
        "--train",
        ["bad.txt:2", "'the'"],
    ),
    (
        "a CoNLL-U line of 4 columns",
        "--train brown --eval short.conllu",
        "--eval",
        ["short.conllu:2", "10 tab-separated"],
    ),
    (
        "an empty sentence",
        "--train brown --eval empty.conllu",
        "--eval",
        ["empty.conllu:3", "no words"],
    ),
    (
        "eval tags the model does not know",
        "--train brown --eval upos.conllu",
        "--eval",
        [
            "'DET' (upos.conllu:1), 'NOUN' (upos.conllu:1)",
            "the 4 tags of --train: ., at, nn, vbd",
            "--tagset universal",
        ],
    ),
    ("an unknown --format", "--train brown --format xml", "--format", ["xml"]),
    ("an unknown --tagset", "--train brown --tagset ptb", "--tagset", []),
    (
        "a sequence too short for a word",
        "--train brown --sequence-length 2",
        "--sequence-length",
        ["at least 3"],
    ),
    ("a missing corpus", "--train nowhere", "--train", ["nowhere not found"]),
]


@pytest.mark.parametrize(
    "arguments, flag, said",
    [case[1:] for case in TAGGER_BAD],
    ids=[case[0] for case in TAGGER_BAD],
)
def test_tagger_corpus_mistakes_are_one_line(tagged, arguments, flag, said):
    result = run_cli(
        f"train token-classifier {arguments} --output run", tagged, FAST_S
    )
    assert_one_line_naming(result, flag, tagged)
    for text in said:
        assert text in result.stderr, result.stderr


def test_tagger_mistakes_load_no_tensorflow(tagged):
    """The tagger's corpora are read and checked before TensorFlow."""
    code = (
        "import sys\n"
        "from keras_attn.cli import main\n"
        "for extra in (['--train', 'bad.txt'],\n"
        "              ['--train', 'brown', '--eval', 'upos.conllu'],\n"
        "              ['--train', 'brown', '--eval', 'empty.conllu']):\n"
        "    try:\n"
        "        main(['train', 'token-classifier', '--output', 'run']\n"
        "             + extra)\n"
        "    except SystemExit as exited:\n"
        "        assert exited.code == 2, exited.code\n"
        "    else:\n"
        "        raise AssertionError(extra)\n"
        "assert 'tensorflow' not in sys.modules, 'TensorFlow was loaded'\n"
        "assert 'keras' not in sys.modules, 'Keras was loaded'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=FAST_S,
        cwd=tagged,
    )
    assert result.returncode == 0, result.stderr
