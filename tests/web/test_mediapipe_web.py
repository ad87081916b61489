"""Files of `to_mediapipe`, run by MediaPipe's web Tasks in Chromium as a
web app runs them.

The pinned npm packages (@mediapipe/tasks-text 1.0.1, tasks-vision 1.1.0,
tasks-audio 1.0.1) load each file from a local server and are given
strings, `ImageData` and `Float32Array` samples, with `delegate: "CPU"`
(their WebAssembly build of the same C++ as the Python Tasks). They must
reproduce Keras: probabilities within 1e-5, logits and embeddings within
1e-4 (embeddings also at cosine >= 0.9999). Keras is fed what MediaPipe
feeds the model, as tests/export/test_mediapipe.py and
tests/mediapipe_runs.py write it from MediaPipe's source (its tokenizer's
pieces, its audio windows and resampler), so the comparison is of the
files, not of two tokenizers.

No request leaves the local server (tests/browser.py aborts the others);
MediaPipe posts usage logs to `browser.MEDIAPIPE_USAGE_LOG` when a task
closes, and each test records how many of those it saw blocked
(`blocked_usage_logs` in the JUnit properties).
"""

import importlib.util
import pathlib
import shutil
import warnings

import browser as harness
import keras
import numpy as np
import pytest
from mediapipe_runs import mediapipe_windows
from mediapipe_runs import qresample
from tiny_models import AUDIO_TINY
from tiny_models import spread

from keras_attn import models
from keras_attn.export import to_mediapipe

TESTS = pathlib.Path(__file__).resolve().parent.parent


def _python_mediapipe_tests():
    """tests/export/test_mediapipe.py under a name of its own: its
    re-implementation of MediaPipe's BERT tokenizer (`mediapipe_pieces`),
    its vocabulary, texts and pictures."""
    spec = importlib.util.spec_from_file_location(
        "_mediapipe_python_tests", TESTS / "export" / "test_mediapipe.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


reference = _python_mediapipe_tests()
VOCAB = reference.VOCAB
TEXTS = reference.TEXTS
LENGTH = reference.LENGTH
TEXT_LABELS = reference.LABELS
IMAGE_LABELS = ["red", "green", "blue", "grey"]
SOUND_LABELS = ["kick", "snare", "hat"]
RATE = AUDIO_TINY["sample_rate"]
WINDOW = AUDIO_TINY["clip_samples"]
PROBABILITY_BAR = 1e-5
# A page that may fetch from its own origin only.
CSP_PAGE = (
    "<!doctype html><meta charset='utf-8'>\n"
    "<meta http-equiv='Content-Security-Policy' content=\"connect-src 'self'\">"
    "\n<title>connect-src 'self'</title>\n"
)
LOGIT_BAR = 1e-4


def softmax(logits):
    logits = np.asarray(logits, "float64")
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


def clip(samples, rate, seed):
    """A chirp, a tone and faint noise (as test_mediapipe_audio.py's)."""
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / rate
    sweep = 100 + (0.4 * rate - 100) * t / (samples / rate)
    wave = 0.5 * np.sin(2 * np.pi * np.cumsum(sweep) / rate)
    wave += 0.2 * np.sin(2 * np.pi * rng.uniform(150, 900) * t)
    wave += 0.05 * rng.normal(size=samples)
    return wave.astype("float32")


# -- Models and files, once per module ----------------------------------------


def text_classifier_file(folder, seed, hidden_dim=32):
    """`(classifier, backbone, path)`: a one-layer BERT text classifier of
    3 classes (weights spread by `seed`), and its `to_mediapipe`
    `text_classifier` file (probabilities inside) at `folder/text.tflite`,
    with `VOCAB` as its vocabulary (`folder/vocab.txt`)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n", "utf-8")
    keras.utils.set_random_seed(seed)
    backbone = models.bert_backbone(
        vocabulary_size=len(VOCAB), num_layers=1, hidden_dim=hidden_dim,
        num_heads=2, intermediate_dim=2 * hidden_dim,
        max_sequence_length=32, dropout=0.0,
    )  # fmt: skip
    text = models.bert_text_classifier(backbone, 3, dropout=0.0)
    text = spread(text, seed + 1)
    path = folder / "text.tflite"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # uncased vocabulary: accents
        to_mediapipe(
            text, path, "text_classifier", vocabulary=folder,
            sequence_length=LENGTH, labels=TEXT_LABELS, probabilities=True,
            measure_latency=False, num_samples=1,
        )  # fmt: skip
    return text, backbone, path


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """`(models, folder)`: the Keras models and their files, in one folder
    the page gets at /models/."""
    folder = tmp_path_factory.mktemp("web_models")
    checkpoint = tmp_path_factory.mktemp("checkpoint")
    text, backbone, text_file = text_classifier_file(checkpoint, 3)
    shutil.move(text_file, folder / "text_classifier.tflite")
    keras.utils.set_random_seed(5)
    vit = spread(
        models.vit_classifier(
            len(IMAGE_LABELS), image_size=16, patch_size=4, num_layers=1,
            hidden_dim=32, num_heads=2, intermediate_dim=64,
        ),
        seed=6,
    )  # fmt: skip
    keras.utils.set_random_seed(9)
    vit_backbone = spread(
        models.vit_backbone(
            image_size=16, patch_size=4, num_layers=1, hidden_dim=32,
            num_heads=2, intermediate_dim=64,
        ),
        seed=10,
    )  # fmt: skip
    keras.utils.set_random_seed(5)
    sound = spread(
        models.audio_classifier(len(SOUND_LABELS), "audio_tiny", **AUDIO_TINY),
        seed=6,
    )
    mean, std = [123.7, 116.3, 103.5], [58.4, 57.1, 57.4]
    exports = {
        "text_embedder": (backbone, dict(
            vocabulary=checkpoint, sequence_length=LENGTH,
        )),
        "image_classifier": (vit, dict(
            labels=IMAGE_LABELS, normalization=(127.5, 127.5),
        )),
        "image_embedder": (vit_backbone, dict(normalization=(mean, std))),
        "audio_classifier": (sound, dict(
            labels=SOUND_LABELS, sample_rate=RATE, probabilities=True,
        )),
    }  # fmt: skip
    for task, (model, options) in exports.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # uncased vocabulary: accents
            to_mediapipe(
                model, folder / f"{task}.tflite", task,
                measure_latency=False, num_samples=1, **options,
            )  # fmt: skip
    held = {task: model for task, (model, _) in exports.items()}
    held["text_classifier"] = text
    held["sentence"] = models.bert_sentence_embedder(backbone)
    held["normalization"] = (np.float32(mean), np.float32(std))
    return held, folder


@pytest.fixture(scope="module")
def page(browser, made):
    _, folder = made
    return browser.open({"/models/": folder})


def run_task(page, script, arg, record_property):
    """Runs `script` (the body of an async function of `arg` that imports
    its bundle, makes the task, runs it, closes it) and returns its
    result; records the usage logs that were blocked meanwhile."""
    before = len(page.blocked)
    result = page.evaluate(
        f"""async (arg) => {{
            {script}
        }}""",
        arg,
    )
    # The usage log is posted (and aborted) as the task closes: give the
    # page a moment to send it, so that each test counts its own.
    page.evaluate("() => new Promise((done) => setTimeout(done, 300))")
    blocked = page.blocked[before:]
    record_property("blocked_usage_logs", len(blocked))
    assert set(blocked) <= {harness.MEDIAPIPE_USAGE_LOG}, blocked
    local = page.base + "/"
    assert all(
        url.startswith(local) or url in page.blocked for url in page.requests
    ), page.requests
    return result, blocked


SETUP = """
    const bundle = await import(
        "/node_modules/@mediapipe/tasks-{kind}/{kind}_bundle.mjs");
    const fileset = await bundle.FilesetResolver.for{Kind}Tasks(
        "/node_modules/@mediapipe/tasks-{kind}/wasm");
    const task = await bundle.{task}.createFromOptions(fileset, {{
        baseOptions: {{modelAssetPath: "/models/{file}.tflite",
                       delegate: "CPU"}},
        {options}
    }});
    const results = [];
"""


def setup(kind, task, file, options=""):
    return SETUP.format(
        kind=kind, Kind=kind.capitalize(), task=task, file=file,
        options=options,
    )  # fmt: skip


def scores(categories, count):
    found = np.full(count, np.nan)
    for category in categories:
        found[category["index"]] = category["score"]
    return found


# -- Text ---------------------------------------------------------------------


def test_text_classifier_gives_the_softmax_of_keras(
    page, made, record_property
):
    held, _ = made
    script = setup("text", "TextClassifier", "text_classifier",
                   "maxResults: -1,") + """
        for (const text of arg) {
            const {classifications} = task.classify(text);
            results.push(classifications[0].categories.map(
                (c) => ({index: c.index, score: c.score,
                         name: c.categoryName})));
        }
        task.close();
        return results;
    """  # fmt: skip
    got, blocked = run_task(page, script, TEXTS, record_property)
    worst, expected_all = 0.0, []
    for text, categories in zip(TEXTS, got, strict=True):
        assert all(c["name"] == TEXT_LABELS[c["index"]] for c in categories)
        inputs = reference.bert_inputs(reference.mediapipe_pieces(text))
        expected = softmax(held["text_classifier"](inputs))[0]
        worst = max(worst, np.max(np.abs(scores(categories, 3) - expected)))
        expected_all.append(expected)
    record_property("max_difference", float(worst))
    assert worst <= PROBABILITY_BAR, worst
    # The bar can fail: the texts' probabilities differ by far more.
    assert np.ptp(np.array(expected_all), axis=0).max() > 1e-2


def test_text_embedder_gives_the_sentence_embedding(
    page, made, record_property
):
    held, _ = made
    script = (
        setup("text", "TextEmbedder", "text_embedder")
        + """
        for (const text of arg) {
            const {embeddings} = task.embed(text);
            results.push(Array.from(embeddings[0].floatEmbedding));
        }
        task.close();
        return results;
    """
    )
    got, _ = run_task(page, script, TEXTS, record_property)
    worst, cosines = 0.0, []
    for text, embedding in zip(TEXTS, got, strict=True):
        inputs = reference.bert_inputs(reference.mediapipe_pieces(text))
        expected = np.asarray(held["sentence"](inputs), "float64")[0]
        embedding = np.asarray(embedding)
        assert embedding.shape == expected.shape == (32,)
        worst = max(worst, np.max(np.abs(embedding - expected)))
        cosines.append(reference.cosine(embedding, expected))
    record_property("max_difference", float(worst))
    assert worst <= LOGIT_BAR and min(cosines) >= 0.9999, (worst, cosines)


def test_a_content_security_policy_keeps_the_usage_log_in_the_page(
    browser, made, tmp_path
):
    """No option of the Tasks turns their usage log off; a page's
    `connect-src 'self'` policy stops it before it is sent (so nothing
    reaches the network, not even the tests' router), and the task still
    runs."""
    held, folder = made
    (tmp_path / "index.html").write_text(CSP_PAGE, encoding="utf-8")
    page = browser.open({"/": tmp_path, "/models/": folder})
    text = TEXTS[0]
    script = setup("text", "TextClassifier", "text_classifier",
                   "maxResults: -1,") + """
        const {classifications} = task.classify(arg);
        task.close();
        await new Promise((done) => setTimeout(done, 300));
        return classifications[0].categories.map(
            (c) => ({index: c.index, score: c.score}));
    """  # fmt: skip
    got = page.evaluate(f"async (arg) => {{ {script} }}", text)
    inputs = reference.bert_inputs(reference.mediapipe_pieces(text))
    expected = softmax(held["text_classifier"](inputs))[0]
    assert np.max(np.abs(scores(got, 3) - expected)) <= PROBABILITY_BAR
    assert page.blocked == [], page.blocked
    refused = [
        line
        for line in page.console
        if harness.MEDIAPIPE_USAGE_LOG in line and "Content Security" in line
    ]
    assert refused, page.console


# -- Images -------------------------------------------------------------------


def rgba(image):
    """An RGB uint8 picture as `ImageData`'s flat RGBA bytes."""
    alpha = np.full(image.shape[:2] + (1,), 255, np.uint8)
    return np.concatenate([image, alpha], axis=-1).ravel().tolist()


IMAGE_RUN = """
    for (const [data, size] of arg) {
        const image = new ImageData(
            new Uint8ClampedArray(data), size, size);
        %s
    }
    task.close();
    return results;
"""


def test_image_classifier_gives_the_logits_of_keras(
    page, made, record_property
):
    held, _ = made
    images = reference.pictures(16)
    script = setup("vision", "ImageClassifier", "image_classifier",
                   "maxResults: -1,") + IMAGE_RUN % """
        const {classifications} = task.classify(image);
        results.push(classifications[0].categories.map(
            (c) => ({index: c.index, score: c.score,
                     name: c.categoryName})));
    """  # fmt: skip
    arg = [[rgba(image), 16] for image in images]
    got, _ = run_task(page, script, arg, record_property)
    worst, expected_all = 0.0, []
    for image, categories in zip(images, got, strict=True):
        assert all(c["name"] == IMAGE_LABELS[c["index"]] for c in categories)
        x = (image.astype("float32") - 127.5) / 127.5
        expected = np.asarray(held["image_classifier"](x[None]), "float64")[0]
        worst = max(worst, np.max(np.abs(scores(categories, 4) - expected)))
        expected_all.append(expected)
    record_property("max_difference", float(worst))
    assert worst <= LOGIT_BAR, worst
    assert min(
        np.max(np.abs(a - b)) for a, b in reference.pairs(expected_all)
    ) > 1e-2  # fmt: skip


def test_image_embedder_gives_the_class_token(page, made, record_property):
    held, _ = made
    mean, std = held["normalization"]
    images = reference.pictures(16, seed=2)
    script = setup("vision", "ImageEmbedder", "image_embedder") + (
        IMAGE_RUN
        % """
        const {embeddings} = task.embed(image);
        results.push(Array.from(embeddings[0].floatEmbedding));
    """
    )
    arg = [[rgba(image), 16] for image in images]
    got, _ = run_task(page, script, arg, record_property)
    worst, cosines = 0.0, []
    for image, embedding in zip(images, got, strict=True):
        x = ((image.astype("float32") - mean) / std).astype("float32")
        expected = np.asarray(held["image_embedder"](x[None]))[0, 0]
        worst = max(worst, np.max(np.abs(np.asarray(embedding) - expected)))
        cosines.append(reference.cosine(np.asarray(embedding), expected))
    record_property("max_difference", float(worst))
    assert worst <= LOGIT_BAR and min(cosines) >= 0.9999, (worst, cosines)


# -- Audio --------------------------------------------------------------------


def test_audio_classifier_gives_the_softmax_of_keras_per_window(
    page, made, record_property
):
    """A clip of 2.5 windows at the model's rate, and one at twice the
    rate (MediaPipe resamples it: `qresample`, from its C++)."""
    held, _ = made
    clips = [(clip(WINDOW * 5 // 2, RATE, 0), RATE)]
    clips.append((clip(WINDOW * 2, 2 * RATE, 1), 2 * RATE))
    script = setup("audio", "AudioClassifier", "audio_classifier",
                   "maxResults: -1,") + """
        for (const [samples, rate] of arg) {
            results.push(task.classify(new Float32Array(samples), rate).map(
                (result) => ({
                    time: result.timestampMs,
                    categories: result.classifications[0].categories.map(
                        (c) => ({index: c.index, score: c.score,
                                 name: c.categoryName})),
                })));
        }
        task.close();
        return results;
    """  # fmt: skip
    arg = [[samples.tolist(), rate] for samples, rate in clips]
    got, _ = run_task(page, script, arg, record_property)
    worst = 0.0
    for (samples, rate), windows in zip(clips, got, strict=True):
        fed = samples if rate == RATE else qresample(samples, rate, RATE)
        expected = softmax(
            held["audio_classifier"].predict_on_batch(
                mediapipe_windows(fed, WINDOW)
            )
        )
        assert len(windows) == len(expected)
        assert [w["time"] for w in windows] == [
            round(i * 1000 * WINDOW / RATE) for i in range(len(windows))
        ]
        for window, row in zip(windows, expected, strict=True):
            categories = window["categories"]
            assert all(
                c["name"] == SOUND_LABELS[c["index"]] for c in categories
            )
            worst = max(worst, np.max(np.abs(scores(categories, 3) - row)))
    record_property("max_difference", float(worst))
    assert worst <= PROBABILITY_BAR, worst
