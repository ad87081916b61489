import contextlib
import io
import json

import keras
import numpy as np
import pytest

from keras_attn import cli
from keras_attn import demo
from keras_attn.apps import demo as apps_demo


def test_digits_split_is_stratified_and_scaled():
    x_train, x_test, y_train, y_test = demo.load_digits_split(seed=0)
    assert x_train.shape == (1437, 8, 8, 1) and x_test.shape == (360, 8, 8, 1)
    assert 0.0 == x_train.min() and x_train.max() == 1.0
    # Stratified: every class keeps its share of the held-out fifth.
    train_counts = np.bincount(y_train, minlength=10)
    test_counts = np.bincount(y_test, minlength=10)
    np.testing.assert_allclose(
        test_counts / (train_counts + test_counts), 0.2, atol=0.01
    )


# Which digits the attention picture shows (made-up predictions).


def test_chosen_examples_include_the_mistakes():
    labels = np.arange(20) % 10
    predicted = labels.copy()
    predicted[[3, 11, 17]] = [5, 0, 2]  # three mistakes
    chosen = apps_demo.choose_attention_examples(labels, predicted, count=8)
    assert len(chosen) == 8 and len(set(chosen.tolist())) == 8
    assert {3, 11, 17} <= set(chosen.tolist())
    right = [i for i in chosen if labels[i] == predicted[i]]
    # The five correct ones are of five different digits.
    assert len({int(labels[i]) for i in right}) == 5
    # Four places: two mistakes (half), the first ones, and two correct.
    chosen = apps_demo.choose_attention_examples(labels, predicted, count=4)
    assert [i for i in chosen if labels[i] != predicted[i]] == [3, 11]
    assert len(chosen) == 4


def test_chosen_examples_without_mistakes_or_without_correct_ones():
    labels = np.array([4, 4, 4, 1, 2, 4, 1])
    chosen = apps_demo.choose_attention_examples(labels, labels, count=3)
    # No mistakes: correct ones of different digits first.
    assert sorted(labels[chosen].tolist()) == [1, 2, 4]
    wrong = (labels + 1) % 10
    chosen = apps_demo.choose_attention_examples(labels, wrong, count=4)
    assert chosen.tolist() == [0, 1, 2, 3]  # all mistakes fill it
    # Fewer examples than places: each once.
    chosen = apps_demo.choose_attention_examples(labels, labels, count=50)
    assert sorted(chosen.tolist()) == list(range(7))
    # A single place still shows a mistake when there is one.
    predicted = labels.copy()
    predicted[5] = 0
    assert apps_demo.choose_attention_examples(
        labels, predicted, 1
    ).tolist() == [5]


@pytest.mark.parametrize(
    "labels, predicted, count, message",
    [
        ([1, 2], [1], 8, "2 labels and 1 predictions"),
        ([[1, 2]], [[1, 2]], 8, r"`labels`.*1-D.*\(1, 2\)"),
        ([1, 2], [0.5, 2.0], 8, "`predicted`.*integer.*float64"),
        ([1, 2], [1, 2], 0, "`count` must be an int >= 1; received 0"),
        ([1, 2], [1, 2], 2.0, "received 2.0"),
        ([1, 2], [1, 2], True, "received True"),
    ],
)
def test_chosen_examples_refuse_bad_input(labels, predicted, count, message):
    with pytest.raises(ValueError, match=message):
        apps_demo.choose_attention_examples(labels, predicted, count)


def test_attention_picture_draws_over_each_digit_and_says_what_it_shows(
    tmp_path,
):
    """An untrained ViT gets most digits wrong: the picture shows some of
    its mistakes, marked, each map over its digit on its own scale, and
    a caption that explains the colours."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from keras_attn import models

    keras.utils.set_random_seed(0)
    model = models.vit_classifier(10, "vit_digits")
    _, x_test, _, y_test = demo.load_digits_split(seed=0)
    x_test, y_test = x_test[:60], y_test[:60]
    predicted = np.argmax(model.predict(x_test, verbose=0), axis=-1)
    mistakes = int(np.sum(predicted != y_test))
    assert mistakes > 0  # an untrained model (else this test shows nothing)

    figure = demo.plot_digit_attention(
        model, x_test, y_test, tmp_path / "maps.png", count=6
    )
    assert (tmp_path / "maps.png").stat().st_size > 1000
    titles = [ax.get_title() for ax in figure.axes]
    assert len(titles) == 6
    marked = [t for t in titles if "(mistake)" in t]
    correct = len(y_test) - mistakes
    # Half the places for mistakes, more if too few are right.
    assert len(marked) == min(mistakes, max(3, 6 - correct))
    for title in titles:
        true, guess = title.split("\n")[0].split(" (")[0].split(" / ")
        assert true.startswith("true ") and guess.startswith("predicted ")
        assert (true[5:] != guess[10:]) == ("(mistake)" in title)
    for ax in figure.axes:
        digit, overlay = ax.images  # the map is drawn over the digit
        assert digit.get_array().shape == overlay.get_array().shape == (8, 8)
        assert any(
            np.array_equal(digit.get_array(), image[..., 0]) for image in x_test
        )
        assert 0 < overlay.get_alpha() < 1
        # Its own colour scale: from its own smallest to largest share.
        shares = overlay.get_array()
        assert overlay.get_clim() == (shares.min(), shares.max())
    scales = {ax.images[1].get_clim() for ax in figure.axes}
    assert len(scales) > 1
    caption = figure.get_supxlabel()
    for words in ("class token", "attention rollout", "brighter", "own scale"):
        assert words in caption


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    output = tmp_path_factory.mktemp("demo")
    printed = io.StringIO()
    # Two epochs: enough to be far above chance, short enough for CI.
    with contextlib.redirect_stdout(printed):
        returned = cli.main(["demo", "--epochs", "2", "--output", str(output)])
    assert returned == 0
    results = json.loads((output / "results.json").read_text())
    return output, results, printed.getvalue()


def test_demo_writes_every_artifact(demo_run):
    output, results, _ = demo_run
    for name in (
        "vit_digits.keras",
        "vit_digits_float32.tflite",
        "vit_digits_int8.tflite",
        "vit_digits_mediapipe.tflite",
        "training_curves.png",
        "attention_maps.png",
    ):
        assert (output / name).stat().st_size > 1000, name
    from keras_attn.apps import web_page

    web = output / "web"
    for name in (*web_page.PAGE_FILES, *web_page.NPM_FILES, "page.json"):
        assert (web / name).read_bytes(), name
    assert (web / web_page.CLASSIFIER_FILE).read_bytes() == (
        output / "vit_digits_mediapipe.tflite"
    ).read_bytes()
    assert (web / web_page.ATTENTION_FILE).stat().st_size > 1000
    for picture in ("training_curves.png", "attention_maps.png"):
        with open(output / picture, "rb") as handle:
            assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    assert [row["name"] for row in results["rows"]] == [
        "Keras",
        "LiteRT float32",
        "LiteRT int8",
    ]


def test_demo_table_matches_what_the_files_do(demo_run):
    """Re-runs the saved model and `.tflite` files with LiteRT's own
    interpreter and recomputes each figure of the printed table."""
    from ai_edge_litert.interpreter import Interpreter

    import keras_attn.models  # noqa: F401  (registers the classes)

    output, results, _ = demo_run
    _, x_test, _, y_test = demo.load_digits_split(seed=results["seed"])
    model = keras.saving.load_model(output / "vit_digits.keras")
    keras_logits = np.asarray(model.predict(x_test, verbose=0))
    rows = {row["name"]: row for row in results["rows"]}
    keras_accuracy = np.mean(np.argmax(keras_logits, -1) == y_test)
    assert rows["Keras"]["accuracy"] == pytest.approx(keras_accuracy)
    # Two epochs already beat chance (0.1) by far.
    assert keras_accuracy > 0.3
    for name in ("LiteRT float32", "LiteRT int8"):
        row = rows[name]
        path = output / row["file"]
        assert row["size_bytes"] == path.stat().st_size
        runner = Interpreter(str(path)).get_signature_runner()
        logits = np.concatenate(
            [
                next(iter(runner(images=x_test[i : i + 1]).values()))
                for i in range(len(x_test))
            ]
        )
        accuracy = np.mean(np.argmax(logits, -1) == y_test)
        assert row["accuracy"] == pytest.approx(accuracy), name
        difference = np.max(np.abs(logits - keras_logits))
        assert row["max_abs_diff"] == pytest.approx(difference, rel=1e-5)
        assert row["ms_per_image"] > 0
    assert rows["LiteRT float32"]["max_abs_diff"] < 1e-4
    # Full int8 stores a quarter of the float32 weights.
    assert (
        rows["LiteRT int8"]["size_bytes"]
        < 0.5 * rows["LiteRT float32"]["size_bytes"]
    )
    assert abs(rows["LiteRT int8"]["accuracy"] - keras_accuracy) < 0.05


def test_demo_prints_the_table_and_where_files_are(demo_run):
    output, results, printed = demo_run
    table = demo.format_table(results["rows"])
    assert table.count("\n") == 4  # header, rule, three rows
    assert table in printed
    assert f"Artifacts are in {output.resolve()}" in printed
    for step in ("[1/5]", "[2/5]", "[3/5]", "[4/5]", "[5/5]"):
        assert step in printed
    # How to open the page: the npm packages once, then the server.
    web = output.resolve() / "web"
    assert f"npm install --prefix {web}\n" in printed
    assert f"keras-attn serve {web}\n" in printed


def test_demo_mediapipe_file_classifies_like_keras(demo_run):
    """MediaPipe's own ImageClassifier, given the held-out digits as RGB
    pictures of 0..255 (grey in all three channels, as a phone camera
    crop would be), names the digits Keras names, with its
    probabilities."""
    pytest.importorskip("mediapipe")
    from mediapipe_runs import classifier_scores

    import keras_attn.models  # noqa: F401  (registers the classes)

    output, results, _ = demo_run
    _, x_test, _, _ = demo.load_digits_split(seed=results["seed"])
    x_test = x_test[:40]
    pixels = np.round(x_test * 255).astype("uint8")
    model = keras.saving.load_model(output / "vit_digits.keras")
    expected = keras.ops.convert_to_numpy(
        keras.ops.softmax(model(pixels.astype("float32") / 255))
    )
    got = classifier_scores(
        output / "vit_digits_mediapipe.tflite",
        np.repeat(pixels, 3, axis=-1),
        [str(digit) for digit in range(10)],
    )
    assert np.max(np.abs(got - expected)) <= 1e-5


# The page of the demo's web/ folder, driven in Chromium.


def draw_cells(page, cells):
    """Draws the True cells of an 8x8 array on the page's canvas with the
    mouse: one stroke along each row's run of cells (the pen is a cell
    wide). Returns the number of strokes."""
    box = page.locator("#pad").bounding_box()
    size = box["width"] / cells.shape[1]
    strokes = 0
    for row, line in enumerate(cells):
        ink = np.flatnonzero(np.diff(np.r_[0, line.astype(int), 0]))
        for start, stop in zip(ink[::2], ink[1::2], strict=True):
            y = box["y"] + (row + 0.5) * size
            page.mouse.move(box["x"] + (start + 0.5) * size, y)
            page.mouse.down()
            page.mouse.move(box["x"] + (stop - 0.5) * size, y, steps=2)
            page.mouse.up()
            strokes += 1
    return strokes


def read_page(page, runs):
    """What the page shows after its `runs`-th reading: the label, the
    8x8 grid it fed MediaPipe (as Keras's [0, 1] input), the ten
    probabilities and the sixteen attention shares."""
    page.wait_for_function(f"document.body.dataset.runs === '{runs}'")
    shown = page.evaluate(
        """() => ({
            label: document.getElementById("label").textContent,
            grid: document.getElementById("input").dataset.grid,
            probabilities: [...document.querySelectorAll(
                "#probabilities li")].map((li) => li.dataset.probability),
            shares: [...document.querySelectorAll("#attention div")].map(
                (square) => square.dataset.share),
        })"""
    )
    pixels = np.array(shown["grid"].split(","), "float32")
    return (
        shown["label"],
        pixels.reshape(1, 8, 8, 1) / 255,
        np.array(shown["probabilities"], "float64"),
        np.array(shown["shares"], "float64"),
    )


# MediaPipe's GPU delegate computes in float16 (tests/web/
# test_mediapipe_gpu.py): a probability or an attention share held to
# this, far under the gap between the digits' probabilities.
GPU_BAR = 2e-3


def test_demo_page_reads_a_drawn_digit_as_keras_does(
    demo_run, record_property
):
    """The demo's web page in Chromium: a held-out digit drawn on the
    canvas with the mouse (its inked cells as strokes) comes back as the
    8x8 image drawn; MediaPipe's probabilities and the attention rollout
    the page shows are Keras's for the image the page made (within
    1e-5), and the label it prints is the digit's. Then, with the
    drawing centred and scaled as the digits were, still Keras's numbers
    for the new image. On MediaPipe's GPU delegate (both files exported
    with `gpu_delegate=True`), the same image read again wholly there,
    within float16's precision (2e-3), with the same label. Nothing but
    the local server is asked for."""
    import browser

    import keras_attn.models  # noqa: F401  (registers the classes)
    from keras_attn.apps import web_page

    browser.need("@mediapipe/tasks-vision")
    output, results, _ = demo_run
    model = keras.saving.load_model(output / "vit_digits.keras")
    rollout = web_page.attention_rollout_model(model)
    _, x_test, _, y_test = demo.load_digits_split(seed=results["seed"])
    # A held-out digit Keras reads right, with a clear margin, from its
    # inked cells alone (what the strokes draw).
    cells = x_test[..., 0] >= 0.5
    from_cells = keras.ops.convert_to_numpy(
        keras.ops.softmax(model(cells[..., None].astype("float32")))
    )
    clear = np.flatnonzero(
        (np.argmax(from_cells, -1) == y_test) & (from_cells.max(-1) > 0.6)
    )
    index = int(clear[0])

    def keras_reading(image):
        probabilities = keras.ops.softmax(model(image))
        return (
            keras.ops.convert_to_numpy(probabilities)[0],
            keras.ops.convert_to_numpy(rollout(image))[0],
        )

    with browser.browser("@mediapipe/tasks-vision") as chromium:
        page = chromium.open({"/": output / "web"})
        page.wait_for_function("document.body.dataset.state === 'ready'")
        assert page.locator("#text").is_hidden()  # no text part in this run
        page.uncheck("#fit")  # first the canvas as drawn
        strokes = draw_cells(page, cells[index])
        label, image, probabilities, shares = read_page(page, strokes)
        # The image is the drawing: ink in the drawn cells only.
        grid = image[0, ..., 0]
        assert np.all(grid[cells[index]] > 0.75), grid
        assert np.all(grid[~cells[index]] < 0.1), grid
        expected, expected_shares = keras_reading(image)
        np.testing.assert_allclose(probabilities, expected, atol=1e-5)
        np.testing.assert_allclose(shares, expected_shares, atol=1e-5)
        assert label == str(np.argmax(expected)) == str(y_test[index])
        page.check("#fit")  # centred and scaled: a new reading
        label, image, probabilities, shares = read_page(page, strokes + 1)
        expected, expected_shares = keras_reading(image)
        np.testing.assert_allclose(probabilities, expected, atol=1e-5)
        np.testing.assert_allclose(shares, expected_shares, atol=1e-5)
        assert label == str(np.argmax(expected))
        assert page.get_attribute("body", "data-state") == "ready"
        # MediaPipe's GPU delegate (WebGL): both files were exported for
        # it (gpu_delegate=True), so it reads the drawing again, wholly
        # on the GPU (no operator refused, no XNNPACK), to float16's
        # precision and with the same label.
        console = len(page.console)
        page.select_option("#delegate", "GPU")
        page.wait_for_function("document.body.dataset.state !== 'loading'")
        said = page.inner_text("#status")
        assert page.get_attribute("body", "data-state") == "ready", said
        label, gpu_image, probabilities, shares = read_page(page, strokes + 2)
        lines = page.console[console:]
        assert not [
            line
            for line in lines
            if "not supported by GPU delegate" in line or "Doesn't" in line
        ], lines
        assert not any("XNNPACK" in line for line in lines), lines
        np.testing.assert_array_equal(gpu_image, image)
        record_property(
            "gpu_max_difference_probabilities",
            float(np.max(np.abs(probabilities - expected))),
        )
        record_property(
            "gpu_max_difference_attention",
            float(np.max(np.abs(shares - expected_shares))),
        )
        np.testing.assert_allclose(probabilities, expected, atol=GPU_BAR)
        np.testing.assert_allclose(shares, expected_shares, atol=GPU_BAR)
        assert label == str(np.argmax(expected))
        # The page's connect-src policy stops MediaPipe's usage logs
        # (posted at each close(), here when the delegate changed) before
        # they are sent: no request left for the harness to abort.
        assert page.blocked == [], page.blocked


def test_cli_version(capsys):
    assert cli.main(["version"]) == 0
    assert "keras-attn" in capsys.readouterr().out


@pytest.mark.parametrize("flag", ["--epochs", "--threads"])
def test_demo_rejects_a_count_below_one(flag, capsys):
    with pytest.raises(SystemExit):
        cli.main(["demo", flag, "0"])
    assert "expected a positive int, got 0" in capsys.readouterr().err


def tiny_bert_folder(folder):
    """A random 2-layer BERT in Hugging Face's layout, with a vocabulary
    of the sentiment file's words (the real MiniLM converts too slowly
    for the suite; examples/sentence_embeddings.py's test uses it)."""
    from conftest import FILLER
    from conftest import WORDS
    from hf_checkpoints import CONFIG
    from hf_checkpoints import hf_tensors
    from hf_checkpoints import write_folder

    words = sorted({*FILLER, *WORDS[0], *WORDS[1]})
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    config = dict(CONFIG, vocab_size=len(vocabulary))
    write_folder(folder, config, hf_tensors(config))
    (folder / "vocab.txt").write_text("\n".join(vocabulary) + "\n")
    return folder


def test_text_part_table_matches_its_files(tmp_path, sentiment_tsv):
    from keras_attn.export import LiteRTRunner
    from keras_attn.models import load_bert_preprocessor

    source = sentiment_tsv(tmp_path / "sentiment.tsv", 100, seed=0)
    # A page from the digits part (run writes it first): the text part
    # adds its MediaPipe file there.
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "page.json").write_text('{"labels": ["0"]}')
    results = demo.run_text(
        source,
        output=tmp_path,
        rows=60,
        sequence_length=16,
        verbose=0,
        checkpoint=tiny_bert_folder(tmp_path / "tiny-bert"),
    )
    folder = tmp_path / "text"
    assert [row["name"] for row in results["rows"]] == [
        "Keras (text)",
        "LiteRT float32 (text)",
        "LiteRT dynamic_int8 (text)",
        "LiteRT int8 (text)",
    ]
    held = (folder / "eval.tsv").read_text().splitlines()[1:]
    assert len(held) == 12  # a fifth of 60 rows
    texts = [line.split("\t", 1)[1] for line in held]
    labels = np.array([int(line.split("\t", 1)[0]) for line in held])
    features = {
        k: np.asarray(v).astype("int32")
        for k, v in load_bert_preprocessor(folder, 16)(texts).items()
    }
    model = keras.saving.load_model(folder / "model.keras")
    keras_logits = np.asarray(model.predict(features, verbose=0))
    assert results["rows"][0]["accuracy"] == pytest.approx(
        np.mean(np.argmax(keras_logits, -1) == labels)
    )
    for row in results["rows"][1:]:
        runner = LiteRTRunner(tmp_path / row["file"])
        logits = np.concatenate(
            [
                next(
                    iter(
                        runner(
                            {k: v[i : i + 1] for k, v in features.items()}
                        ).values()
                    )
                )
                for i in range(len(texts))
            ]
        )
        assert row["accuracy"] == pytest.approx(
            np.mean(np.argmax(logits, -1) == labels)
        )
        assert row["max_abs_diff"] == pytest.approx(
            float(np.max(np.abs(logits - keras_logits))), rel=1e-5, abs=1e-6
        )
    # float32 is the Keras model to the export's bar. (dynamic_int8 leaves
    # this tiny model's small tensors in float, so sizes are not compared.)
    assert results["rows"][1]["max_abs_diff"] <= 1e-4
    for row in results["rows"]:
        assert (tmp_path / row["file"]).stat().st_size == row["size_bytes"]
    # The MediaPipe file, given the held-out sentences as text, gives the
    # Keras model's probabilities (same WordPiece rules on these words).
    from mediapipe_runs import classifier_scores

    classes = json.loads((folder / "classes.json").read_text())
    expected = keras.ops.convert_to_numpy(keras.ops.softmax(keras_logits))
    got = classifier_scores(
        tmp_path / results["mediapipe"]["file"], texts, classes
    )
    assert np.max(np.abs(got - expected)) <= 1e-5
    # The web page's text box runs that file, with these class names.
    from keras_attn.apps import web_page

    assert results["web"] == f"web/{web_page.TEXT_FILE}"
    assert (tmp_path / results["web"]).read_bytes() == (
        tmp_path / results["mediapipe"]["file"]
    ).read_bytes()
    config = json.loads((tmp_path / "web" / "page.json").read_text())
    assert config == {
        "labels": ["0"],
        "text_classifier": web_page.TEXT_FILE,
        "text_labels": classes,
    }
