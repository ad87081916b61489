"""Drum sounds from raw waveforms, scored on whole drum kits never seen.

Debian's `hydrogen-drumkits` package installs 14 Hydrogen drum kits
under `/usr/share/hydrogen/data/drumkits/<Kit>/`, each a `drumkit.xml`
naming its instruments and their sample files (one file per velocity
layer; old kits name one file per instrument). Every sample file is one
clip, labelled by its instrument's name with the first of these rules
that matches (lower case):

    clap    the word "clap" or "claps"
    hihat   the words "hh" or "ohh", "hi-hat", "hi hat", "hihat", the word
            "hat"
    cymbal  "crash", "ride", "splash", "china", "cymbal"
    kick    "kick", "bass drum", "bassdrum", the word "bd"
    snare   "snare"
    tom     a word starting "tom"

Every other instrument is left out (stick, rim click, cowbell,
tambourine, agogo, bongo, conga, cajon, djembe, shaker, effects, and the
unnamed ones). A file named by two instruments of one kit is one clip.
That gives 482 clips: 54 kick, 89 snare, 125 hi-hat, 119 cymbal, 78 tom,
17 clap.

Whole kits are held out, and kits by one author who recorded the same
drums are kept together: Millo-Drums_v.1, Millo_MultiLayered2 and
Millo_MultiLayered3 (one Ludwig set recorded three times by emillo) and
rumpf_kit_z01_h2 (115 clips, every class in both groups: 14 kick, 23
snare, 25 hi-hat, 24 cymbal, 23 tom, 6 clap). The other ten kits train
(367 clips). Recipes were chosen on `--validation-kits` (kits taken out
of the training ten), not on the held-out kits.

`--prepare` writes the clips as class folders (`train/<class>/` and
`held_out/<class>/`, files named `<kit>__<file>`), the form
`keras_attn.data.audio.audio_folder` and `keras-attn train
audio-classifier --train ... --eval ...` read; WAV and FLAC files are
copied, and AIFF files (BJA_Pacific's, and one of Audiophob's that is
named `.wav`) become 16-bit WAV files of the same samples. Clips are
read with `audio_folder` at 16 kHz, mixed to mono and cut to the model's
1 s (drum samples start at the hit).

The model is `AudioClassifier.from_preset("audio_tiny")` with dropout
0.5, trained 100 epochs (batch 32, AdamW at 1e-3 with 5% warm-up and
cosine decay, weight decay 0.05), classes balanced by sample weights.
Each epoch's training clips are augmented afresh (`--augment strong`,
the default): a random speed (0.8 to 1.25 times: pitch and length
together), a random smooth equalizer (-12 to +12 dB at six frequencies
from 50 Hz to 8 kHz), a random gain (-20 to +6 dB, clipped to [-1, 1]),
a random delay (0 to 100 ms of silence before the hit) and Gaussian
noise (standard deviation 1e-4 to 3e-3 of full scale); `basic` keeps
the last three. Then the trained task is exported with
`keras_attn.export.to_tflite` as float32 and as full int8 (calibrated
on 120 training clips, 20 a class where there are) and every held-out
clip is classified by each file alone (LiteRT, one clip a call).

    sudo apt-get install hydrogen-drumkits
    python benchmarks/audio_drums.py --prepare /tmp/drums
    python benchmarks/audio_drums.py --folders /tmp/drums \\
        --save /tmp/drums_model.keras \\
        --output benchmarks/results/audio_drums.json \\
        --picture benchmarks/results/audio_drums_confusion.png
    python benchmarks/audio_drums.py --folders /tmp/drums --tiny  # smoke
"""

import argparse
import datetime
import json
import pathlib
import platform
import re
import shutil
import struct
import sys
import tempfile
import time
import wave
import xml.etree.ElementTree as ElementTree

import numpy as np

KITS = pathlib.Path("/usr/share/hydrogen/data/drumkits")
CLASSES = ["kick", "snare", "hihat", "cymbal", "tom", "clap"]
# The first rule that matches an instrument's lower-cased name wins.
RULES = [
    ("clap", r"\bclaps?\b"),
    ("hihat", r"\bo?hh\b|hi-?\s?hat|hihat|\bhat\b"),
    ("cymbal", r"crash|ride|splash|china|cymbal"),
    ("kick", r"kick|bass\s?drum|\bbd\b"),
    ("snare", r"snare"),
    ("tom", r"\btom"),
]
HELD_OUT_KITS = (
    "Millo-Drums_v.1",
    "Millo_MultiLayered2",
    "Millo_MultiLayered3",
    "rumpf_kit_z01_h2",
)
# Taken out of the training kits to choose recipes (every class in them).
VALIDATION_KITS = ("Audiophob", "ColomboAcousticDrumkit", "ElectricEmpireKit")
SEPARATOR = "__"  # between the kit and the file name in the folders


def drum_class(name):
    """The class of an instrument name (see the module docstring), or
    None."""
    lowered = (name or "").lower()
    for label, rule in RULES:
        if re.search(rule, lowered):
            return label
    return None


def kit_instruments(folder):
    """`[(instrument name, [sample file names])]` from `drumkit.xml`:
    the layers' files, or an old kit's one file."""
    tree = ElementTree.parse(pathlib.Path(folder) / "drumkit.xml")
    for element in tree.iter():
        element.tag = element.tag.split("}")[-1]  # drop the namespace
    found = []
    for instrument in tree.getroot().iter("instrument"):
        name = instrument.findtext("name")
        files = [
            layer.findtext("filename") for layer in instrument.iter("layer")
        ]
        if not files and instrument.findtext("filename"):
            files = [instrument.findtext("filename")]
        found.append((name, [f for f in files if f]))
    return found


def kit_clips(root=KITS):
    """Every labelled clip of every kit: a list of dicts with `kit`,
    `instrument`, `label` and `path`, one per sample file."""
    clips = []
    for folder in sorted(pathlib.Path(root).iterdir()):
        if not (folder / "drumkit.xml").exists():
            continue
        labels, names = {}, {}
        for name, files in kit_instruments(folder):
            label = drum_class(name)
            for file in files:
                if label is None or not (folder / file).exists():
                    continue
                labels.setdefault(file, set()).add(label)
                names.setdefault(file, name)
        for file, found in sorted(labels.items()):
            if len(found) != 1:  # named under two classes: left out
                continue
            clips.append(
                {
                    "kit": folder.name,
                    "instrument": names[file],
                    "label": found.pop(),
                    "path": str(folder / file),
                }
            )
    return clips


def _extended(blob):
    """An 80-bit IEEE extended float (AIFF's sample rate)."""
    exponent = ((blob[0] & 0x7F) << 8) | blob[1]
    mantissa = int.from_bytes(blob[2:10], "big")
    return mantissa * 2.0 ** (exponent - 16383 - 63)


def aiff_to_wav(source, target):
    """Writes the PCM samples of an AIFF file as a WAV file (same rate,
    channels and sample width; AIFF's big-endian samples byte-swapped)."""
    blob = pathlib.Path(source).read_bytes()
    if blob[:4] != b"FORM" or blob[8:12] != b"AIFF":
        raise ValueError(f"expected an AIFF file, received {source}")
    chunks, at = {}, 12
    while at + 8 <= len(blob):
        size = int.from_bytes(blob[at + 4 : at + 8], "big")
        chunks[blob[at : at + 4]] = blob[at + 8 : at + 8 + size]
        at += 8 + size + (size & 1)
    channels, frames, bits = struct.unpack(">hIh", chunks[b"COMM"][:8])
    rate = int(round(_extended(chunks[b"COMM"][8:18])))
    width = (bits + 7) // 8
    offset = int.from_bytes(chunks[b"SSND"][:4], "big")
    data = chunks[b"SSND"][8 + offset : 8 + offset + frames * channels * width]
    samples = np.frombuffer(data, np.uint8).reshape(-1, width)[:, ::-1]
    if width == 1:  # 8-bit AIFF is signed, 8-bit WAV unsigned
        samples = (samples.astype(np.int16) + 128).astype(np.uint8)
    with wave.open(str(target), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(np.ascontiguousarray(samples).tobytes())


def prepare(folder, root=KITS, held_out=HELD_OUT_KITS):
    """Writes `folder/train/<class>/` and `folder/held_out/<class>/` and
    `folder/clips.json`; returns the clips."""
    folder = pathlib.Path(folder)
    clips = kit_clips(root)
    for clip in clips:
        part = "held_out" if clip["kit"] in held_out else "train"
        source = pathlib.Path(clip["path"])
        name = f"{kit_stem(clip['kit'])}{SEPARATOR}{source.stem}"
        name = name.replace(" ", "_")
        target = folder / part / clip["label"]
        target.mkdir(parents=True, exist_ok=True)
        if source.read_bytes()[:4] == b"FORM":
            target = target / f"{name}.wav"
            aiff_to_wav(source, target)
        else:
            target = target / f"{name}{source.suffix.lower()}"
            shutil.copyfile(source, target)
        clip["file"] = str(target.relative_to(folder))
    (folder / "clips.json").write_text(json.dumps(clips, indent=1) + "\n")
    return clips


def kit_stem(kit):
    """A kit's name as it starts its clips' file names."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", kit)


def kit_of(name):
    """The kit of a prepared clip's file name (`<kit stem>__<file>`)."""
    return pathlib.Path(name).name.split(SEPARATOR)[0]


def counts(labels, kits):
    """`{kit: {class: clips}}` and the totals."""
    table = {}
    for label, kit in zip(labels, kits, strict=True):
        row = table.setdefault(kit, dict.fromkeys(CLASSES, 0))
        row[CLASSES[label]] += 1
    table["all"] = {
        name: sum(row[name] for kit, row in table.items() if kit != "all")
        for name in CLASSES
    }
    return table


def load(folder, sample_rate, clip_samples):
    """`(waveforms, labels, names)` of a class folder, by
    `keras_attn.data.audio.audio_folder`; `names` are the file names
    (`<kit>__<file>`)."""
    from keras_attn.data.audio import audio_folder

    found = audio_folder(folder, sample_rate, clip_samples, class_names=CLASSES)
    names = [pathlib.Path(p).name for p in found.paths]
    return found.waveforms, np.asarray(found.labels, "int32"), names


def augment(waveforms, rng, sample_rate, strong=False, decay=False):
    """Random gain, delay and noise; with `strong`, first a random speed
    (0.8 to 1.25 times, so pitch and length change together), tilt and
    decay (see the module docstring)."""
    count, samples = waveforms.shape
    if strong:
        waveforms = _strong(waveforms, rng, sample_rate, decay)
    gains = 10.0 ** (rng.uniform(-20.0, 6.0, (count, 1)) / 20.0)
    out = np.zeros_like(waveforms)
    delays = rng.integers(0, int(0.1 * sample_rate) + 1, count)
    for row, delay in enumerate(delays):
        out[row, delay:] = waveforms[row, : samples - delay]
    noise = 10.0 ** rng.uniform(-4.0, np.log10(3e-3), (count, 1))
    out = out * gains + rng.normal(0.0, 1.0, out.shape) * noise
    return np.clip(out, -1.0, 1.0).astype("float32")


def _strong(waveforms, rng, sample_rate, decay=False):
    """Speed (linear interpolation at 0.8 to 1.25 times the rate), a
    random smooth equalizer (gains of -12 to +12 dB at 6 frequencies
    spaced evenly in log frequency from 50 Hz to the Nyquist frequency,
    interpolated between them, applied to the clip's spectrum) and, with
    `decay`, for half the clips, a decay `exp(-t / tau)` (tau 0.05 to 1 s),
    each clip's peak kept."""
    count, samples = waveforms.shape
    t = np.arange(samples, dtype="float64")
    frequencies = np.fft.rfftfreq(samples, 1.0 / sample_rate)
    where = np.log(np.clip(frequencies, 50.0, None))
    points = np.linspace(np.log(50.0), np.log(sample_rate / 2), 6)
    out = np.empty_like(waveforms)
    for row in range(count):
        speed = np.exp(rng.uniform(np.log(0.8), np.log(1.25)))
        x = np.interp(t * speed, t, waveforms[row], right=0.0)
        decibels = np.interp(where, points, rng.uniform(-12.0, 12.0, 6))
        y = np.fft.irfft(np.fft.rfft(x) * 10.0 ** (decibels / 20.0), samples)
        if decay and rng.random() < 0.5:
            tau = np.exp(rng.uniform(np.log(0.05), np.log(1.0)))
            y *= np.exp(-t / (tau * sample_rate))
        peak_in, peak_out = np.abs(x).max(), np.abs(y).max()
        out[row] = y * (peak_in / peak_out if peak_out > 0 else 1.0)
    return out


def mixup(x, y, weights, rng, alpha):
    """Each clip mixed with a random other, `lam * a + (1 - lam) * b`
    with `lam ~ Beta(alpha, alpha)` (kept the larger side, so each clip
    stays mostly itself); labels and weights mixed alike (Zhang et al.,
    2018)."""
    partner = rng.permutation(len(x))
    lam = rng.beta(alpha, alpha, len(x)).astype("float32")
    lam = np.maximum(lam, 1.0 - lam)
    mixed = lam[:, None] * x + (1.0 - lam[:, None]) * x[partner]
    labels = lam[:, None] * y + (1.0 - lam[:, None]) * y[partner]
    return (
        np.clip(mixed, -1.0, 1.0),
        labels,
        lam * weights + (1.0 - lam) * weights[partner],
    )


def confusion_matrix(gold, predicted):
    matrix = np.zeros((len(CLASSES), len(CLASSES)), int)
    for g, p in zip(gold, predicted, strict=True):
        matrix[g, p] += 1
    return matrix


def scores(gold, predicted, names):
    """Accuracy, per-kit accuracy, per-class recall, the confusion
    matrix and the clips classified wrong."""
    gold, predicted = np.asarray(gold), np.asarray(predicted)
    kits = np.asarray([kit_of(name) for name in names])
    return {
        "accuracy": round(float(np.mean(gold == predicted)), 5),
        "clips": int(len(gold)),
        "errors": int(np.sum(gold != predicted)),
        "per_kit": {
            kit: round(
                float(np.mean(gold[kits == kit] == predicted[kits == kit])), 4
            )
            for kit in sorted(set(kits.tolist()))
        },
        "per_class_recall": {
            name: round(float(np.mean(predicted[gold == i] == i)), 4)
            for i, name in enumerate(CLASSES)
            if np.any(gold == i)
        },
        "confusion": confusion_matrix(gold, predicted).tolist(),
        "wrong": [
            [name, CLASSES[g], CLASSES[p]]
            for name, g, p in zip(names, gold, predicted, strict=True)
            if g != p
        ],
    }


def picture(matrix, path, title):
    """The confusion matrix as a PNG (counts, rows the true class)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.asarray(matrix)
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    figure, ax = plt.subplots(figsize=(5.6, 4.8))
    image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(CLASSES)), CLASSES, rotation=45)
    ax.set_yticks(range(len(CLASSES)), CLASSES)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true class")
    for row in range(len(CLASSES)):
        for column in range(len(CLASSES)):
            if matrix[row, column]:
                ax.text(
                    column,
                    row,
                    str(matrix[row, column]),
                    ha="center",
                    va="center",
                    fontsize=9,
                    color="white" if shares[row, column] > 0.5 else "black",
                )
    figure.colorbar(image, ax=ax, fraction=0.046, label="share of the row")
    ax.set_title(title, fontsize=9)
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)


def file_scores(path, waveforms, keras_logits):
    """Logits of `waveforms` from the `.tflite` file alone, one clip a
    call, and their largest difference from Keras's."""
    from keras_attn.export import LiteRTRunner

    runner = LiteRTRunner(path, num_threads=2)
    (name,) = runner.input_details  # the one input, `waveforms`
    rows = []
    for clip in waveforms:
        found = runner({name: clip[None]})
        rows.append(np.asarray(next(iter(found.values())))[0])
    logits = np.stack(rows)
    return logits, float(np.abs(logits - keras_logits).max())


def train(args, x_train, y_train, sample_rate):
    import keras

    from keras_attn.models.audio import AudioClassifier

    keras.utils.set_random_seed(args.seed)
    overrides = dict(args.override)
    if args.dropout is not None:
        overrides["dropout"] = args.dropout
    if args.tiny:
        overrides["num_layers"] = 1
    task = AudioClassifier.from_preset(
        args.preset, class_names=CLASSES, **overrides
    )
    steps = args.epochs * int(np.ceil(len(y_train) / args.batch_size))
    warmup = max(1, steps // 20)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0,
        decay_steps=max(1, steps - warmup),
        warmup_target=args.learning_rate,
        warmup_steps=warmup,
    )
    task.compile(
        optimizer=keras.optimizers.AdamW(
            schedule, weight_decay=args.weight_decay
        ),
        loss=keras.losses.CategoricalCrossentropy(
            from_logits=True, label_smoothing=args.label_smoothing
        ),
        metrics=[],
    )
    frequency = np.bincount(y_train, minlength=len(CLASSES))
    weights = (len(y_train) / (len(CLASSES) * np.maximum(frequency, 1)))[
        y_train
    ].astype("float32")
    if not args.balance:
        weights = np.ones_like(weights)
    one_hot = np.eye(len(CLASSES), dtype="float32")[y_train]
    rng = np.random.default_rng(args.seed)
    history = []
    started = time.perf_counter()
    for epoch in range(args.epochs):
        x = x_train
        if args.augment != "none":
            x = augment(
                x, rng, sample_rate, args.augment == "strong", args.decay
            )
        y, w = one_hot, weights
        if args.mixup:
            x, y, w = mixup(x, y, w, rng, args.mixup)
        result = task.fit(
            x,
            y,
            sample_weight=w,
            batch_size=args.batch_size,
            epochs=1,
            shuffle=True,
            verbose=0,
        )
        loss = float(result.history["loss"][-1])
        history.append(round(loss, 5))
        if (epoch + 1) % 10 == 0 or epoch + 1 == args.epochs:
            print(
                f"epoch {epoch + 1}: loss {loss:.4f} "
                f"{time.perf_counter() - started:.0f} s",
                flush=True,
            )
    return task, overrides, history, time.perf_counter() - started


def _override(text):
    key, _, value = text.partition("=")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kits", default=str(KITS), help="drum kit folder")
    parser.add_argument(
        "--prepare", default=None, help="write the class folders here, exit"
    )
    parser.add_argument("--folders", default=None, help="prepared folders")
    parser.add_argument(
        "--validation-kits",
        default=None,
        help="comma-separated training kits to score instead of the "
        "held-out ones, to choose a recipe; 'default': "
        + ",".join(VALIDATION_KITS),
    )
    parser.add_argument("--preset", default="audio_tiny")
    parser.add_argument(
        "--override",
        action="append",
        default=[],
        type=_override,
        metavar="KEY=VALUE",
        help="an audio_config key for the preset (repeatable), such as "
        "time_patch=2",
    )
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=0.05)
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument(
        "--augment",
        choices=("none", "basic", "strong"),
        default="strong",
        help="basic: gain, delay, noise; strong: also speed, tilt, decay",
    )
    parser.add_argument(
        "--decay",
        action="store_true",
        help="strong augmentation also shortens half the clips' tails",
    )
    parser.add_argument("--no-balance", dest="balance", action="store_false")
    parser.add_argument(
        "--mixup", type=float, default=0.0, help="mixup's alpha (0: none)"
    )
    parser.add_argument("--label-smoothing", type=float, default=0.0)
    parser.add_argument(
        "--calibration",
        type=int,
        default=120,
        help="training clips to calibrate int8 on (stratified by class)",
    )
    parser.add_argument(
        "--float-ops",
        default=None,
        type=lambda text: [name.strip() for name in text.split(",")],
        help="int8: operators to keep in float32, comma-separated",
    )
    parser.add_argument("--no-export", dest="export", action="store_false")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", default=None, help=".keras file to write")
    parser.add_argument(
        "--load", default=None, help="score (and export) this saved task"
    )
    parser.add_argument("--output", default=None, help="JSON to write")
    parser.add_argument("--picture", default=None, help="confusion PNG")
    parser.add_argument("--tiny", action="store_true", help="a smoke run")
    args = parser.parse_args(argv)

    if args.prepare:
        clips = prepare(args.prepare, args.kits)
        table = counts(
            [CLASSES.index(c["label"]) for c in clips],
            [c["kit"] for c in clips],
        )
        for kit, row in table.items():
            held = " (held out)" if kit in HELD_OUT_KITS else ""
            held += " (validation)" if kit in VALIDATION_KITS else ""
            print(f"{kit}{held}: {row}")
        print(f"wrote {len(clips)} clips under {args.prepare}")
        return table
    if not args.folders:
        parser.error("give --prepare FOLDER or --folders FOLDER")
    if args.tiny:
        args.epochs, args.calibration = 2, 8

    from keras_attn.models.audio import audio_config

    config = audio_config(args.preset, **dict(args.override))
    rate, samples = config["sample_rate"], config["clip_samples"]
    folders = pathlib.Path(args.folders)
    x_train, y_train, k_train = load(folders / "train", rate, samples)
    if args.validation_kits:
        names = (
            VALIDATION_KITS
            if args.validation_kits == "default"
            else tuple(args.validation_kits.split(","))
        )
        chosen = np.isin(
            [kit_of(n) for n in k_train], [kit_stem(k) for k in names]
        )
        x_test, y_test = x_train[chosen], y_train[chosen]
        k_test = [k for k, c in zip(k_train, chosen, strict=True) if c]
        x_train, y_train = x_train[~chosen], y_train[~chosen]
        k_train = [k for k, c in zip(k_train, chosen, strict=True) if not c]
        scored_on = "validation kits " + ", ".join(
            sorted({kit_of(n) for n in k_test})
        )
    else:
        x_test, y_test, k_test = load(folders / "held_out", rate, samples)
        scored_on = "held-out kits " + ", ".join(
            sorted({kit_of(n) for n in k_test})
        )
    if args.tiny:
        x_train, y_train, k_train = x_train[::8], y_train[::8], k_train[::8]
        x_test, y_test, k_test = x_test[::4], y_test[::4], k_test[::4]
    print(
        f"train: {len(y_train)} clips from "
        f"{len({kit_of(n) for n in k_train})} kits "
        f"{np.bincount(y_train, minlength=6).tolist()}; scored on "
        f"{scored_on}: {len(y_test)} clips "
        f"{np.bincount(y_test, minlength=6).tolist()}",
        flush=True,
    )

    if args.load:
        import keras

        task = keras.saving.load_model(args.load)
        overrides, history, seconds = {"loaded": args.load}, [], 0.0
    else:
        task, overrides, history, seconds = train(args, x_train, y_train, rate)
    keras_logits = task.predict(x_test, batch_size=64, verbose=0)
    keras_scores = scores(y_test, keras_logits.argmax(-1), k_test)
    print(
        f"Keras: accuracy {keras_scores['accuracy']:.4f} "
        f"({keras_scores['errors']} of {len(y_test)} wrong); trained "
        f"{seconds:.0f} s; per kit {keras_scores['per_kit']}",
        flush=True,
    )
    if args.save:
        task.save(args.save)
        print(f"wrote {args.save}")
    files = {}
    if args.export:
        files = export_and_score(
            args,
            task,
            x_train,
            y_train,
            x_test,
            y_test,
            k_test,
            keras_logits,
            keras_scores,
        )
    if args.picture:
        picture(
            keras_scores["confusion"],
            args.picture,
            f"{args.preset} on {scored_on.split(' kits')[0]} kits "
            f"({len(y_test)} clips): accuracy {keras_scores['accuracy']:.3f}",
        )
        print(f"wrote {args.picture}")
    record = {
        "date": datetime.date.today().isoformat(),
        "command": " ".join(["python", *sys.argv]),
        "machine": f"{platform.processor() or platform.machine()}",
        "classes": CLASSES,
        "rules": dict(RULES),
        "scored_on": scored_on,
        "preset": args.preset,
        "overrides": overrides,
        "parameters": int(task.count_params()),
        "settings": {
            key: getattr(args, key)
            for key in (
                "epochs",
                "batch_size",
                "learning_rate",
                "weight_decay",
                "dropout",
                "augment",
                "decay",
                "balance",
                "mixup",
                "label_smoothing",
                "calibration",
                "float_ops",
                "seed",
                "tiny",
            )
        },
        "train_clips": counts(y_train, [kit_of(n) for n in k_train]),
        "scored_clips": counts(y_test, [kit_of(n) for n in k_test]),
        "loss_history": history,
        "train_seconds": round(seconds, 1),
        "keras": keras_scores,
        "files": files,
    }
    if args.output:
        pathlib.Path(args.output).write_text(
            json.dumps(record, indent=1) + "\n"
        )
        print(f"wrote {args.output}")
    return record


def export_and_score(
    args,
    task,
    x_train,
    y_train,
    x_test,
    y_test,
    k_test,
    keras_logits,
    keras_scores,
):
    """The float32 and full-int8 files of `task`, each scored on the
    clips alone; int8 calibrated on training clips (stratified)."""
    from keras_attn.export import to_tflite

    rng = np.random.default_rng(args.seed)
    per_class = max(1, args.calibration // len(CLASSES))
    picked = np.concatenate(
        [
            rng.permutation(np.flatnonzero(y_train == i))[:per_class]
            for i in range(len(CLASSES))
        ]
    )
    calibration = {"waveforms": x_train[picked]}
    found = {}
    with tempfile.TemporaryDirectory() as folder:
        for quantization in (None, "int8"):
            name = quantization or "float32"
            path = pathlib.Path(folder) / f"drums_{name}.tflite"
            started = time.perf_counter()
            to_tflite(
                task,
                path,
                quantization=quantization,
                representative_data=calibration if quantization else None,
                calibration_steps=len(picked),
                float_ops=args.float_ops if quantization else None,
                measure_latency=False,
            )
            export_seconds = time.perf_counter() - started
            logits, diff = file_scores(path, x_test, keras_logits)
            predicted = logits.argmax(-1)
            result = scores(y_test, predicted, k_test)
            result.update(
                points_vs_keras=round(
                    100 * (result["accuracy"] - keras_scores["accuracy"]), 2
                ),
                clips_changed_vs_keras=int(
                    np.sum(predicted != keras_logits.argmax(-1))
                ),
                max_abs_logit_diff_vs_keras=diff,
                megabytes=round(path.stat().st_size / 1e6, 3),
                export_seconds=round(export_seconds, 1),
            )
            if quantization:
                result["calibration_clips"] = int(len(picked))
            found[name] = result
            print(
                f"{name}: accuracy {result['accuracy']:.4f} "
                f"({result['points_vs_keras']:+.2f} points vs Keras, "
                f"{result['clips_changed_vs_keras']} clips changed, largest "
                f"logit difference {diff:.2g}, {result['megabytes']} MB)",
                flush=True,
            )
    return found


if __name__ == "__main__":
    main()
