"""The `keras-attn` command line."""

import argparse
import sys


def _demo(args):
    from keras_attn import demo

    accuracy = demo.run(
        epochs=args.epochs, num_examples=args.examples, seed=args.seed
    )
    print(
        "\nA-before-B order task, held-out accuracy: "
        f"{accuracy:.3f} (chance is 0.500)"
    )
    return 0


def _version(args):
    import keras

    import keras_attn

    print(
        f"keras-attn {keras_attn.__version__} "
        f"(keras {keras.__version__}, backend {keras.backend.backend()})"
    )
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="keras-attn",
        description="Keras 3 attention layers and models.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="train a small Transformer classifier end to end, offline",
        description=(
            "Builds a Transformer classifier from keras_attn.layers, trains "
            "it with model.fit on a made-up word-order task, and prints the "
            "held-out accuracy. Needs no download."
        ),
    )
    demo.add_argument("--epochs", type=int, default=12)
    demo.add_argument("--examples", type=int, default=4000)
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_demo)
    version = commands.add_parser("version", help="print versions")
    version.set_defaults(func=_version)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
