"""Train a translator on sentence pairs, translate, put it on a phone.

    python examples/translation.py \\
        --train path/to/eng-fra/train.tsv --output eng-fra
    python examples/translation.py --load eng-fra --interactive

Step 1 (unless `--load` names a folder written before) is the
`keras-attn train translator` job: a joint SentencePiece vocabulary, the
Transformer translator trained with `model.fit`, BLEU on held-out source
sentences, everything saved to `--output`.

Step 2 exports the on-device translator with `keras_attn.export`: one
`.tflite` file with the whole greedy decoding loop inside (token ids in,
token ids out; the SentencePiece pieces stay in your app), and checks
that its translations are Keras's, word for word.

Step 3 translates the `--sentence`s given, or, with `--interactive`, each
line you type (end with Ctrl-D), with Keras and with the `.tflite` file.
"""

import argparse
import json
import pathlib
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n", 1)[1],
    )
    parser.add_argument("--train", help="source<TAB>target TSV, no header")
    parser.add_argument("--load", help="a folder a previous run wrote")
    parser.add_argument("--output", default="translator-run")
    parser.add_argument("--preset", default="translator_small")
    parser.add_argument("--vocabulary-size", type=int, default=4000)
    parser.add_argument("--max-length", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--sentence", action="append", default=[])
    parser.add_argument("--interactive", action="store_true")
    args = parser.parse_args(argv)
    if not args.train and not args.load:
        parser.error("give --train (to train) or --load (a trained folder)")

    import numpy as np

    from keras_attn import export
    from keras_attn import models
    from keras_attn.apps import jobs

    folder = pathlib.Path(args.load or args.output)
    if not args.load:
        jobs.train_translator(
            args.train,
            folder,
            preset=args.preset,
            vocabulary_size=args.vocabulary_size,
            max_length=args.max_length,
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            verbose=2,
        )
    translator = models.Translator.load(folder)

    path = folder / "translator.tflite"
    report = export.to_tflite(translator, path)
    print(report)
    runner = export.LiteRTRunner(path)

    def on_device(sentence):
        ids = np.asarray(translator.encode_source([sentence]), "int32")
        tokens = runner({"source_ids": ids})["tokens"]
        return translator.detokenize(tokens)[0]

    sentences = list(args.sentence)
    if args.interactive:
        print("Type a sentence per line; Ctrl-D ends.", flush=True)
        sentences += [line.strip() for line in sys.stdin if line.strip()]
    results = []
    for sentence in sentences:
        keras_text = translator.translate([sentence])[0]
        tflite_text = on_device(sentence)
        results.append(
            {"source": sentence, "keras": keras_text, "tflite": tflite_text}
        )
        same = "same" if keras_text == tflite_text else "DIFFERS"
        print(f"{sentence} -> {keras_text}   (LiteRT: {same})", flush=True)
    (folder / "translations.json").write_text(
        json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
