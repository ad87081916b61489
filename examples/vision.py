"""A Vision Transformer from scratch, then fine-tuned at a higher resolution.

    python examples/vision.py --output vision-run
    python examples/vision.py --images path/to/folder --image-size 32

Step 1 trains a ViT with `keras-attn train vit` (the same job): on
scikit-learn's bundled 8x8 digits (no download), or on `--images`, a
folder with one subfolder of images per class.

Step 2 resizes the trained model to twice the resolution with
`keras_attn.models.vit_resize` (the patch position table is interpolated
to the larger grid, as in Dosovitskiy et al., 2021, section 3.2), checks
that before any fine-tuning it still classifies the up-sampled held-out
images, fine-tunes it for `--fine-tune-epochs`, and reports accuracy at
each stage. Everything goes to `--output` (step 1's files, and
`resized.keras`).

Needs scikit-learn for the digits: `pip install ".[examples]"`.
"""

import argparse
import json
import pathlib


def upsample(images, size):
    """Bilinear resize of a batch of images to `size` x `size`."""
    import numpy as np
    import tensorflow as tf

    return np.asarray(tf.image.resize(images, (size, size)), dtype="float32")


def accuracy(model, images, labels):
    import numpy as np

    logits = model.predict(images, batch_size=256, verbose=0)
    return float(np.mean(np.argmax(logits, axis=-1) == labels))


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n", 1)[1],
    )
    parser.add_argument("--images", help="folder of class subfolders")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--fine-tune-epochs", type=int, default=5)
    parser.add_argument("--output", default="vision-run")
    args = parser.parse_args(argv)

    import keras

    from keras_attn import data
    from keras_attn import models
    from keras_attn import training
    from keras_attn.apps import jobs

    output = pathlib.Path(args.output)
    # Step 1: the training job of the command line.
    jobs.train_vit(
        args.images or "digits",
        output,
        image_size=args.image_size if args.images else None,
        epochs=args.epochs,
        batch_size=32,
        verbose=2,
    )
    model = keras.saving.load_model(output / "model.keras")
    size = model.input_shape[1]
    if args.images:
        # The split train_vit made (a fifth of each class, seed 0).
        x_train, x_test, y_train, y_test, _ = data.image_folder(
            args.images, (size, size), seed=0
        )
    else:
        x_train, x_test, y_train, y_test = data.load_digits()
    before = accuracy(model, x_test, y_test)

    # Step 2: twice the resolution, position table interpolated.
    bigger = 2 * size
    resized = models.vit_resize(model, bigger)
    big_train, big_test = upsample(x_train, bigger), upsample(x_test, bigger)
    untuned = accuracy(resized, big_test, y_test)
    result = training.train(
        lambda: models.vit_resize(model, bigger),
        (big_train, y_train),
        epochs=args.fine_tune_epochs,
        batch_size=32,
        output_dir=output / "fine-tune",
        validation_data=(big_test, y_test),
        learning_rate=2e-4,
        weight_decay=0.05,
        verbose=2,
    )
    tuned = accuracy(result.model, big_test, y_test)
    result.model.save(output / "resized.keras")
    summary = {
        f"accuracy at {size}x{size}": before,
        f"accuracy at {bigger}x{bigger}, resized, not fine-tuned": untuned,
        f"accuracy at {bigger}x{bigger}, fine-tuned": tuned,
    }
    (output / "resolution.json").write_text(json.dumps(summary, indent=1))
    for name, value in summary.items():
        print(f"{name}: {value:.4f}")
    print(f"wrote {output / 'resized.keras'}")


if __name__ == "__main__":
    main()
