"""A tagger's phone file: `to_tflite` and `keras-attn export` of a
`TokenClassifier`, its vocabulary and tags inside, `keras-attn inspect`,
`export.tagger.tag_file`, examples/tag_with_litert.py, and where it runs
(LiteRT's GPU accelerator, Qualcomm's NPU compiler).

One tiny tagger (bert_tiny, a hand vocabulary, spread weights so that
every word's logits differ) is saved as a `keras-attn train` run folder;
`keras-attn export RUN` writes the float32 file every test reads, and one
full-int8 export calibrated on sentences of words is shared the same way.
The GPU and NPU checks ask the real runtimes and skip, saying why, where
they are missing (as tests/export/test_accelerators.py).
"""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
import tiny_models

from keras_attn import cli
from keras_attn import layers
from keras_attn import models
from keras_attn.export import _specs
from keras_attn.export import accelerators
from keras_attn.export import lowering
from keras_attn.export import metadata
from keras_attn.export import tagger
from keras_attn.export import to_tflite
from keras_attn.models.tasks import write_task_file

EXAMPLE = (
    Path(__file__).resolve().parents[2] / "examples" / "tag_with_litert.py"
)
LENGTH = 12  # pieces per row: 10 words at most
TAGS = ["DET", "NOUN", "VERB", "ADP", "PUNCT"]
VOCABULARY = (
    ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    + "the a cat dog mat sat ran on in quick time flies like an".split()
    + "arrow cafe run . , ' ##s ##ly ##ning ##e".split()
)
# Each fits in one row (the example cuts long ones where the task uses
# windows); pieces (quick ##ly), accents, capitals, punctuation inside a
# word (cat ' s) and unknown words.
SENTENCES = [
    "The cat sat on the mat .".split(),
    "A quickly running dog ran in the café".split(),
    ["Time", "flies", "like", "an", "arrow", "zebra", "ÉCOLE"],
    ["The", "cat's", "mat", ","],
    ["dogs"],
]
# Longer than one row of 10 pieces: tagged in windows.
LONG = (
    "the cat sat on the mat and the dog ran in the cafe , a quick run".split()
)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A `keras-attn train` run folder of a tiny tagger, and its task."""
    folder = tmp_path_factory.mktemp("tagger_run")
    keras.utils.set_random_seed(0)
    backbone = models.bert_backbone(
        "bert_tiny", vocabulary_size=len(VOCABULARY), num_layers=1
    )
    network = models.bert_token_classifier(backbone, len(TAGS))
    tiny_models.spread(network, 0)
    network.save(folder / "model.keras")
    (folder / "vocab.txt").write_text("\n".join(VOCABULARY) + "\n")
    (folder / "classes.json").write_text(json.dumps(TAGS))
    write_task_file(folder, "token_classifier", sequence_length=LENGTH)
    return folder, models.load_task(folder)


@pytest.fixture(scope="module")
def exported(run, tmp_path_factory):
    """`keras-attn export RUN`'s float32 file, its report and printout."""
    folder, _ = run
    out = tmp_path_factory.mktemp("tagger_files")
    path, report = out / "tagger.tflite", out / "report.json"
    argv = ["export", str(folder), "--to", "tflite", "--output", str(path)]
    with _captured() as printed:
        code = cli.main(argv + ["--report", str(report)])
    assert code == 0, printed.text
    return path, json.loads(report.read_text()), printed.text


@pytest.fixture(scope="module")
def int8_file(run, tmp_path_factory):
    """The public call: full int8, calibrated on sentences of words."""
    _, task = run
    path = tmp_path_factory.mktemp("tagger_int8") / "tagger_int8.tflite"
    report = to_tflite(
        task,
        path,
        quantization="int8",
        representative_data=SENTENCES * 4,
        sample_data=SENTENCES,
        measure_latency=False,
    )
    return path, report


class _captured:
    """stdout of `cli.main` (capsys is function-scoped)."""

    def __enter__(self):
        import contextlib
        import io

        self.stream = io.StringIO()
        self._redirect = contextlib.redirect_stdout(self.stream)
        self._redirect.__enter__()
        return self

    def __exit__(self, *exc):
        self._redirect.__exit__(*exc)
        self.text = self.stream.getvalue()


def _rows(task, sentences):
    return task.encode_words(sentences)[0]


def _batches(inputs):
    count = len(inputs["token_ids"])
    return [{k: v[i : i + 1] for k, v in inputs.items()} for i in range(count)]


# -- the lowered form -------------------------------------------------------


@pytest.mark.parametrize("target", ["float", "int8"])
def test_word_gather_lowered_form_equals_the_layer(target):
    layer = layers.WordGather()
    x = np.random.default_rng(0).normal(size=(3, 7, 5)).astype("float32")
    # Padding words (0), out-of-range and negative positions: clipped.
    starts = np.array([[1, 3, 0, 9], [-2, 6, 1, 2], [0, 0, 0, 0]], "int32")
    call = lowering.Lowering(target).call
    for rows in (slice(0, 3), slice(1, 2)):  # batch 3, and batch 1
        want = layer(x[rows], starts[rows])
        got = call(layer, tf.constant(x[rows]), tf.constant(starts[rows]))
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    # Unknown batch and length, as a "dynamic" file traces it.
    traced = tf.function(
        lambda x, s: call(layer, x, s),
        input_signature=[
            tf.TensorSpec((None, None, 5)),
            tf.TensorSpec((None, None), tf.int32),
        ],
    )
    got = traced(tf.constant(x), tf.constant(starts))
    np.testing.assert_array_equal(np.asarray(got), np.asarray(layer(x, starts)))


def test_specs_and_sample_inputs_count_words_not_pieces():
    keras.utils.set_random_seed(1)
    model = models.bert_token_classifier(
        models.bert_backbone("bert_tiny", vocabulary_size=30, num_layers=1), 3
    )
    specs = _specs.input_specs(model, 1, LENGTH)
    assert specs["word_starts"].shape == (1, LENGTH - 2)
    assert specs["token_ids"].shape == (1, LENGTH)
    for batch in _specs.sample_inputs(model, specs, count=20):
        real = int(batch["padding_mask"].sum())
        starts = batch["word_starts"][0]
        words = starts[starts > 0]
        # Rising first pieces inside the row's real tokens, then 0; a
        # row of [CLS] and [SEP] alone has no word.
        assert (starts[: len(words)] == words).all()
        if real < 3:
            assert len(words) == 0
            continue
        assert words[0] == 1 and (np.diff(words) > 0).all()
        assert words[-1] <= real - 2
    with pytest.raises(ValueError, match="at least 3"):
        to_tflite(model, "never.tflite", sequence_length=2)


# -- the file ---------------------------------------------------------------


def test_export_of_a_run_folder_matches_keras(run, exported):
    _, task = run
    path, report, printed = exported
    assert report["non_builtin_ops"] == {}
    assert report["inputs"]["word_starts"] == {
        "shape": [1, LENGTH - 2],
        "dtype": "int32",
    }
    for name in ("token_ids", "segment_ids", "padding_mask"):
        assert report["inputs"][name]["shape"] == [1, LENGTH]
    assert report["outputs"]["tag_logits"]["shape"] == [1, LENGTH - 2, 5]
    assert report["max_abs_diff"]["tag_logits"] < 1e-4
    assert report["metadata"]["labels"] == TAGS
    assert "tags           DET, NOUN, VERB, ADP, PUNCT" in printed
    # On real sentences' rows too, not only random ones.
    inputs = _rows(task, SENTENCES)
    want = np.asarray(task(inputs, training=False))
    got = accelerators.cpu_outputs(path, _batches(inputs))
    got = np.concatenate([g["tag_logits"] for g in got])
    assert np.abs(want).max() > 1  # spread weights: logits that differ
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=0)


def test_vocabulary_casing_and_tags_are_inside_the_file(run, exported):
    _, task = run
    path, _, _ = exported
    with zipfile.ZipFile(path) as packed:  # what an app reads
        assert sorted(packed.namelist()) == [
            "tags.txt",
            "tokenizer.json",
            "vocab.txt",
        ]
        assert packed.read("vocab.txt").decode().split("\n")[:-1] == (
            VOCABULARY
        )
        assert packed.read("tags.txt").decode() == "\n".join(TAGS) + "\n"
        settings = json.loads(packed.read("tokenizer.json"))
    assert settings["lowercase"] is True and settings["strip_accents"] is True
    assert settings["sequence_length"] == LENGTH
    assert settings["cls_token"] == "[CLS]" and settings["unk_token"] == "[UNK]"
    meta, _ = metadata.read(path.read_bytes())
    assert [t.name for t in meta.inputs] == [
        name for name, _, _ in metadata.model_io(path.read_bytes())[0]
    ]
    (unit,) = meta.input_process_units
    assert isinstance(unit, metadata.BertTokenizer)
    assert unit.vocab_file.name == "vocab.txt"
    (output,) = meta.outputs
    assert [(f.name, f.type) for f in output.associated_files] == [
        ("tags.txt", "TENSOR_AXIS_LABELS")
    ]
    assert metadata.summary(path.read_bytes())["task"] == "token_classifier"


def test_inspect_lists_word_starts_tags_and_the_vocabulary(exported):
    path, _, _ = exported
    with _captured() as printed:
        assert cli.main(["inspect", str(path)]) == 0
    text = printed.text
    assert f"input  word_starts: int32[1x{LENGTH - 2}]" in text
    assert f"input  token_ids: int32[1x{LENGTH}]" in text
    assert f"output tag_logits: float32[1x{LENGTH - 2}x5]" in text
    assert "token_classifier (keras_attn's tagger" in text
    assert (
        f"tokenizer      bert (vocab.txt, {len(VOCABULARY)} tokens), "
        "lowercase, strips accents"
    ) in text
    assert "tags           DET, NOUN, VERB, ADP, PUNCT" in text


def test_the_file_alone_tags_as_the_keras_task(run, exported):
    _, task = run
    path, _, _ = exported
    sentences = SENTENCES + [LONG]
    tags, logits = tagger.tag_file(path, sentences, return_logits=True)
    assert tags == task.tag(sentences)
    for got, want in zip(logits, task.predict(sentences), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-4, rtol=0)


def test_example_tags_with_litert_alone_as_keras_does(run, exported):
    _, task = run
    path, _, _ = exported
    argv = [sys.executable, str(EXAMPLE), str(path), *SENTENCES[0], "--json"]
    for sentence in SENTENCES[1:]:
        argv += ["--sentence", " ".join(sentence)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    tagged = json.loads(result.stdout)
    assert [item["words"] for item in tagged] == SENTENCES
    assert [item["tags"] for item in tagged] == task.tag(SENTENCES)
    # It needs the file and LiteRT only.
    source = EXAMPLE.read_text()
    assert "keras_attn" not in source.split('"""', 2)[2]
    assert "import tensorflow" not in source


def test_mediapipe_is_refused_for_a_tagger(run, tmp_path, capsys):
    folder, _ = run
    output = tmp_path / "tagger.tflite"
    argv = ["export", str(folder), "--to", "tflite", "--output", str(output)]
    with pytest.raises(SystemExit) as stopped:
        cli.main(argv + ["--mediapipe", "text_classifier"])
    assert stopped.value.code == 2
    assert "MediaPipe has no tagging task" in capsys.readouterr().err
    assert not output.exists()


def test_int8_file_is_full_integer_and_tags_like_keras(run, int8_file):
    _, task = run
    path, report = int8_file
    assert report.non_builtin_ops == {} and report.quantization == "int8"
    assert report.metadata["labels"] == TAGS
    from ai_edge_litert.interpreter import Interpreter

    kinds = {
        detail["dtype"]
        for detail in Interpreter(str(path)).get_tensor_details()
    }
    assert np.int8 in kinds
    tags, logits = tagger.tag_file(path, SENTENCES, return_logits=True)
    want = task.predict(SENTENCES)
    scale = max(np.abs(w).max() for w in want)
    for got, expected in zip(logits, want, strict=True):
        assert np.abs(got - expected).max() < 0.1 * scale
    same = [
        a == b
        for got, expected in zip(tags, task.tag(SENTENCES), strict=True)
        for a, b in zip(got, expected, strict=True)
    ]
    assert np.mean(same) >= 0.8, (tags, task.tag(SENTENCES))


# -- where it runs ----------------------------------------------------------


def test_runs_wholly_on_the_gpu_in_both_precisions(run, exported):
    _, task = run
    path, _, _ = exported
    batches = _batches(_rows(task, SENTENCES[1:2]))  # 10 words, padding
    want = accelerators.cpu_outputs(path, batches)
    scale = max(float(np.abs(w["tag_logits"]).max()) for w in want)
    for precision in accelerators.GPU_PRECISIONS:
        check = accelerators.check_gpu(path, batches, precision)
        if not check.available:
            pytest.skip(
                f"LiteRT's GPU accelerator cannot run here: {check.reason}"
            )
        assert check.fully_accelerated, check.summary()
        difference = check.max_abs_diff["tag_logits"]
        bar = 1e-4 if precision == "float32" else 1e-2 * max(1.0, scale)
        assert np.isfinite(difference) and difference <= bar, check.summary()


# The oldest and newest Hexagon each file can take (two, not all ten:
# each costs time): v68's HTP (SM8350) has no float kernels for GATHER
# (as test_accelerators.py), so float32 starts at SM8450.
NPU_SOCS = {"float32": ["SM8450", "SM8850"], "int8": ["SM8350", "SM8850"]}


@pytest.mark.parametrize("kind", list(NPU_SOCS))
def test_compiles_for_qualcomm_npus_in_one_partition(kind, exported, int8_file):
    if accelerators.qnn_folder() is None:
        pytest.skip(
            "Qualcomm's host libraries are not installed "
            "(accelerators.fetch_qnn_libraries())"
        )
    path = exported[0] if kind == "float32" else int8_file[0]
    for check in accelerators.check_npu(path, NPU_SOCS[kind]):
        assert check.fully_accelerated, check.summary()
        assert check.partitions == 1 and not check.refused
