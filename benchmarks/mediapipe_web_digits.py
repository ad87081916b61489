"""The digits ViT in a web page: MediaPipe's ImageClassifier in headless
Chromium on every held-out digit, with the CPU delegate and with the GPU
delegate (WebGL 2), against Keras.

Trains `vit_digits` with the demo's recipe (or loads `--model`), writes
it with `to_mediapipe(..., gpu_delegate=True)` (the forms MediaPipe's GPU
delegate computes) and, for the record, without, then classifies the 360
held-out digits of scikit-learn's set in Chromium through the pinned
`@mediapipe/tasks-vision` (`npm ci --prefix .web`, as `.ci/run` does).
Prints and writes (`--json`) accuracy per delegate, the answers that
differ from Keras's and the largest probability difference. Timings are
not taken: here the GPU is SwiftShader, on the CPU.

    python benchmarks/mediapipe_web_digits.py --json web_digits.json

Needs Debian's chromium (/usr/bin/chromium), PyPI's playwright and the
npm packages in .web/node_modules (or --node-modules).
"""

import argparse
import json
import pathlib
import re
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent

CLASSIFY = """async (arg) => {
    const bundle = await import(
        "/node_modules/@mediapipe/tasks-vision/vision_bundle.mjs");
    const fileset = await bundle.FilesetResolver.forVisionTasks(
        "/node_modules/@mediapipe/tasks-vision/wasm");
    let task;
    try {
        task = await bundle.ImageClassifier.createFromOptions(fileset, {
            baseOptions: {modelAssetPath: arg.file, delegate: arg.delegate},
            maxResults: -1});
        const rows = [];
        for (const pixels of arg.images) {
            const rgba = new Uint8ClampedArray(64 * 4);
            pixels.forEach((value, i) => {
                rgba.set([value, value, value, 255], 4 * i);
            });
            const {classifications} = task.classify(new ImageData(rgba, 8, 8));
            const row = new Array(10).fill(0);
            for (const c of classifications[0].categories) {
                row[c.index] = c.score;
            }
            rows.push(row);
        }
        return {rows};
    } catch (error) {
        return {error: String(error)};
    } finally {
        if (task) task.close();
    }
}"""

LAUNCH_ARGS = [
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--ignore-gpu-blocklist",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _reason(error):
    """The delegate's own reason in MediaPipe's error (it follows the
    node's long name: `... failed: No support of batched_matmul; ...`)."""
    found = re.search(r"failed: ([^\n;]+);", error)
    return found.group(1) if found else error[:300]


def classify_in_chromium(folder, node_modules, files, images):
    """`{(file, delegate): probabilities (n, 10) or an error string}`."""
    from playwright.sync_api import sync_playwright

    from keras_attn.apps.web_server import serve

    pixels = [image.ravel().tolist() for image in images]
    results = {}
    mounts = {"/": folder, "/node_modules/": node_modules}
    with serve(mounts) as base, sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=LAUNCH_ARGS
        )
        page = chromium.new_page()
        page.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith(base)
                else route.abort()
            ),
        )
        page.goto(base + "/")
        for file in files:
            for delegate in ("CPU", "GPU"):
                arg = {"file": f"/{file}", "delegate": delegate}
                found = page.evaluate(CLASSIFY, dict(arg, images=pixels))
                results[file, delegate] = (
                    np.asarray(found["rows"])
                    if "rows" in found
                    else _reason(found["error"])
                )
        chromium.close()
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a trained vit_digits .keras file")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument(
        "--node-modules", default=str(ROOT / ".web" / "node_modules")
    )
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)

    import keras

    from keras_attn.apps.demo import DIGITS_RECIPE
    from keras_attn.apps.demo import MEDIAPIPE_OPTIONS
    from keras_attn.apps.demo import load_digits_split
    from keras_attn.apps.demo import train_vit_digits
    from keras_attn.export import to_mediapipe

    x_train, x_test, y_train, y_test = load_digits_split(0)
    if args.model:
        model = keras.saving.load_model(args.model)
    else:
        recipe = dict(DIGITS_RECIPE, epochs=args.epochs)
        model, _ = train_vit_digits(**recipe, seed=0, verbose=0)
    logits = np.asarray(model.predict(x_test, verbose=0), "float64")
    keras_probs = np.exp(logits - logits.max(-1, keepdims=True))
    keras_probs /= keras_probs.sum(-1, keepdims=True)
    # The page's pixels: 0..255 grey, which the file divides by 255.
    images = np.round(x_test[..., 0] * 255.0).astype(int)
    rows = {"Keras": {"accuracy": float((logits.argmax(-1) == y_test).mean())}}
    with tempfile.TemporaryDirectory() as scratch:
        folder = pathlib.Path(scratch)
        (folder / "index.html").write_text("<!doctype html><title>x</title>")
        files = {"gpu_delegate.tflite": True, "plain.tflite": False}
        for name, gpu_delegate in files.items():
            to_mediapipe(
                model,
                folder / name,
                "image_classifier",
                measure_latency=False,
                gpu_delegate=gpu_delegate,
                **MEDIAPIPE_OPTIONS,
            )
        found = classify_in_chromium(
            folder, args.node_modules, list(files), images
        )
    # Keras on the rounded pixels the page passes.
    rounded = np.asarray(
        model.predict((images / 255.0)[..., None].astype("float32"), verbose=0)
    )
    want = np.exp(rounded - rounded.max(-1, keepdims=True))
    want /= want.sum(-1, keepdims=True)
    for (file, delegate), probs in found.items():
        key = f"{file} {delegate}"
        if isinstance(probs, str):
            rows[key] = {"error": probs}
            continue
        rows[key] = {
            "accuracy": float((probs.argmax(-1) == y_test).mean()),
            "answers_unlike_keras": int(
                (probs.argmax(-1) != want.argmax(-1)).sum()
            ),
            "max_probability_difference": float(np.abs(probs - want).max()),
        }
    for key, row in rows.items():
        print(f"{key:28s} {row}")
    if args.json:
        results = {"held_out_images": len(images), "rows": rows}
        pathlib.Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
