"""Trains the `vit_digits` ViT on scikit-learn's digits; prints accuracy.

The 1,797 8x8 images ship inside scikit-learn (no download). A stratified
80/20 split with a fixed seed; pixels scaled to [0, 1]; AdamW with cosine
decay; flips are not used (digits are not symmetric). Prints the held-out
accuracy after training.

    pip install ".[examples]"   # scikit-learn
    python benchmarks/vit_digits.py [--epochs 100] [--seed 0]
"""

import argparse


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import keras
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from keras_attn import models

    keras.utils.set_random_seed(args.seed)
    digits = load_digits()
    images = (digits.images / 16.0).astype("float32")[..., None]
    x_train, x_test, y_train, y_test = train_test_split(
        images,
        digits.target,
        test_size=0.2,
        stratify=digits.target,
        random_state=args.seed,
    )
    model = models.vit_classifier(10, "vit_digits", dropout=0.1)
    steps = args.epochs * int(np.ceil(len(x_train) / args.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, steps, warmup_target=2e-3, warmup_steps=steps // 10
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=0.05),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(
        x_train,
        y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        verbose=2,
    )
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(
        f"vit_digits: {model.count_params():,} parameters, held-out "
        f"accuracy {accuracy:.4f} on {len(x_test)} images"
    )
    return accuracy


if __name__ == "__main__":
    main()
