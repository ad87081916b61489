// The draw-a-digit page of `keras-attn demo` (keras_attn/apps/web_page.py
// writes it; `keras-attn serve FOLDER` serves it with FOLDER/node_modules).
//
// A drawing becomes the digits' 8x8 form (ink counted in blocks, as
// scikit-learn's digits were made from 32x32 bitmaps), a grey image of
// 0..255 that MediaPipe's ImageClassifier and ImageEmbedder run: the
// classifier file gives the probabilities, the embedder file the class
// token's attention rollout over the patches. What the page computed is
// in the DOM for tests: #input[data-grid] (the 64 pixels fed in),
// #probabilities li[data-probability], #attention div[data-share],
// #label, and body[data-state] ("loading", "ready", "error") with
// body[data-runs] counting the drawings read.
//
// When page.json names a text classifier (the demo's text part), the #text
// box shows: MediaPipe's TextClassifier (on the CPU, its text tasks' only
// runtime) classifies the sentence, #text-probabilities li[data-probability]
// and #text-label show it, body[data-text] is "ready" or "error" and
// body[data-text-runs] counts the sentences read. Without it the box stays
// hidden; a page.json without the digits' files shows the text box alone.

const VISION = "node_modules/@mediapipe/tasks-vision/";
const TEXT = "node_modules/@mediapipe/tasks-text/";
const LOAD_SECONDS = 60;

const pad = document.getElementById("pad");
const pen = pad.getContext("2d", { willReadFrequently: true });
const statusLine = document.getElementById("status");
const delegateChoice = document.getElementById("delegate");
const fitChoice = document.getElementById("fit");

const page = {
  config: null,
  vision: null,
  tasks: null,
  runs: 0,
  text: null,
  textRuns: 0,
};

function url(path) {
  return new URL(path, document.baseURI).href;
}

function say(message, state) {
  statusLine.textContent = message;
  if (state) document.body.dataset.state = state;
}

function fail(what, error) {
  const message = error && error.message ? error.message : String(error);
  say(`${what}: ${message}`, "error");
  console.error(what, error);
}

// -- Drawing ---------------------------------------------------------------

function clearPad() {
  pen.fillStyle = "#fff";
  pen.fillRect(0, 0, pad.width, pad.height);
}

function penWidth() {
  // One 8x8 cell wide: the digits' strokes are one to two cells thick.
  return pad.width / (page.config ? page.config.image_size : 8);
}

function point(event) {
  const box = pad.getBoundingClientRect();
  return [
    ((event.clientX - box.left) * pad.width) / box.width,
    ((event.clientY - box.top) * pad.height) / box.height,
  ];
}

let last = null;

pad.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  last = point(event);
  pen.fillStyle = "#000";
  pen.beginPath();
  pen.arc(last[0], last[1], penWidth() / 2, 0, 2 * Math.PI);
  pen.fill();
});

pad.addEventListener("pointermove", (event) => {
  if (!last) return;
  const next = point(event);
  pen.strokeStyle = "#000";
  pen.lineWidth = penWidth();
  pen.lineCap = "round";
  pen.lineJoin = "round";
  pen.beginPath();
  pen.moveTo(last[0], last[1]);
  pen.lineTo(next[0], next[1]);
  pen.stroke();
  last = next;
});

function endStroke() {
  if (!last) return;
  last = null;
  read();
}

pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

document.getElementById("clear").addEventListener("click", () => {
  clearPad();
  show(null);
});

fitChoice.addEventListener("change", read);

// -- The 8x8 image ---------------------------------------------------------

// Ink per canvas pixel: 0 on white, 1 on black.
function inkOf(pixels, index) {
  const sum = pixels[index] + pixels[index + 1] + pixels[index + 2];
  return 1 - sum / (3 * 255);
}

// The drawing's ink box centred in a square that it fills (the digits
// were size-normalised), or the canvas as drawn; null when blank.
function framed() {
  const width = pad.width;
  const pixels = pen.getImageData(0, 0, width, width).data;
  let top = width, left = width, bottom = -1, right = -1;
  for (let y = 0; y < width; y++) {
    for (let x = 0; x < width; x++) {
      if (inkOf(pixels, 4 * (y * width + x)) > 0.02) {
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
        left = Math.min(left, x);
        right = Math.max(right, x);
      }
    }
  }
  if (bottom < 0) return null;
  if (!fitChoice.checked) return pixels;
  const side = Math.max(bottom - top + 1, right - left + 1);
  const x0 = (left + right + 1) / 2 - side / 2;
  const y0 = (top + bottom + 1) / 2 - side / 2;
  const square = document.createElement("canvas");
  square.width = square.height = width;
  const context = square.getContext("2d", { willReadFrequently: true });
  context.fillStyle = "#fff";
  context.fillRect(0, 0, width, width);
  context.imageSmoothingQuality = "high";
  // A source square reaching past the canvas is clipped (the rest stays
  // white), as drawImage's specification says.
  context.drawImage(pad, x0, y0, side, side, 0, 0, width, width);
  return context.getImageData(0, 0, width, width).data;
}

// size x size block averages of ink, as integers 0..255.
function toGrid(pixels, size) {
  const width = pad.width;
  const block = width / size;
  const grid = new Uint8ClampedArray(size * size);
  for (let row = 0; row < size; row++) {
    for (let column = 0; column < size; column++) {
      let ink = 0;
      for (let y = row * block; y < (row + 1) * block; y++) {
        for (let x = column * block; x < (column + 1) * block; x++) {
          ink += inkOf(pixels, 4 * (y * width + x));
        }
      }
      grid[row * size + column] = Math.round((255 * ink) / (block * block));
    }
  }
  return grid;
}

// What MediaPipe is given: the grey value in R, G and B, opaque.
function toImage(grid, size) {
  const rgba = new Uint8ClampedArray(4 * grid.length);
  grid.forEach((value, index) => {
    rgba.set([value, value, value, 255], 4 * index);
  });
  return new ImageData(rgba, size, size);
}

// -- Reading ---------------------------------------------------------------

function read() {
  if (!page.tasks) return;
  const pixels = framed();
  if (!pixels) {
    show(null);
    return;
  }
  const size = page.config.image_size;
  const grid = toGrid(pixels, size);
  let probabilities, shares;
  try {
    [probabilities, shares] = run(toImage(grid, size));
  } catch (error) {
    fail(`The ${page.tasks.delegate} delegate failed to run the model`, error);
    return;
  }
  show({ grid, probabilities, shares });
  page.runs += 1;
  document.body.dataset.runs = String(page.runs);
}

function run(image) {
  const labels = page.config.labels;
  const probabilities = new Array(labels.length).fill(0);
  const result = page.tasks.classifier.classify(image);
  for (const category of result.classifications[0].categories) {
    probabilities[category.index] = category.score;
  }
  const embedding = page.tasks.embedder.embed(image).embeddings[0];
  return [probabilities, Array.from(embedding.floatEmbedding)];
}

// -- Showing ---------------------------------------------------------------

const VIRIDIS = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

function viridis(t) {
  const scaled = Math.min(Math.max(t, 0), 1) * (VIRIDIS.length - 1);
  const low = Math.min(Math.floor(scaled), VIRIDIS.length - 2);
  const part = scaled - low;
  const colour = VIRIDIS[low].map(
    (value, channel) => value + part * (VIRIDIS[low + 1][channel] - value),
  );
  return `rgb(${colour.map(Math.round).join(", ")})`;
}

function show(reading) {
  const list = document.getElementById("probabilities");
  const label = document.getElementById("label");
  const input = document.getElementById("input");
  const overlay = document.getElementById("attention");
  const pixels = document.getElementById("pixels");
  const range = document.getElementById("range");
  list.replaceChildren();
  overlay.replaceChildren();
  const context = pixels.getContext("2d");
  if (!reading) {
    label.textContent = "-";
    input.dataset.grid = "";
    range.textContent = "";
    context.fillStyle = "#fff";
    context.fillRect(0, 0, pixels.width, pixels.height);
    return;
  }
  const { grid, probabilities, shares } = reading;
  showBars(list, label, page.config.labels, probabilities);
  // The image as given, ink dark.
  const size = page.config.image_size;
  const shown = grid.map((value) => 255 - value);
  pixels.width = pixels.height = size;
  context.putImageData(toImage(shown, size), 0, 0);
  input.dataset.grid = Array.from(grid).join(",");
  // The rollout on its own scale, one square per patch.
  const low = Math.min(...shares);
  const high = Math.max(...shares);
  const patches = page.config.patch_grid;
  overlay.style.gridTemplateColumns = `repeat(${patches}, 1fr)`;
  for (const share of shares) {
    const square = document.createElement("div");
    square.dataset.share = String(share);
    square.title = `${(100 * share).toFixed(1)}% of the attention`;
    square.style.background = viridis(
      high > low ? (share - low) / (high - low) : 0.5,
    );
    overlay.append(square);
  }
  range.textContent =
    `patches from ${(100 * low).toFixed(1)}% to ${(100 * high).toFixed(1)}%`;
}

// One bar per class in `list`, the best one's name in `label`.
function showBars(list, label, labels, probabilities) {
  list.replaceChildren();
  const best = probabilities.indexOf(Math.max(...probabilities));
  label.textContent = labels[best];
  probabilities.forEach((probability, index) => {
    const item = document.createElement("li");
    item.dataset.probability = String(probability);
    item.dataset.label = labels[index];
    if (index === best) item.className = "best";
    const name = document.createElement("span");
    name.textContent = labels[index];
    const bar = document.createElement("span");
    bar.className = "bar";
    bar.style.width = `${(100 * probability).toFixed(1)}%`;
    const value = document.createElement("span");
    value.className = "value";
    value.textContent = probability.toFixed(3);
    item.append(name, document.createElement("span"), value);
    item.children[1].append(bar);
    list.append(item);
  });
}

// -- The text box ----------------------------------------------------------

const textForm = document.getElementById("text-form");

function sayText(message, state) {
  document.getElementById("text-status").textContent = message;
  if (state) document.body.dataset.text = state;
}

async function loadText() {
  const file = page.config.text_classifier;
  if (!file) return; // no text part: the box stays hidden
  document.getElementById("text").hidden = false;
  sayText("Loading MediaPipe's TextClassifier...", "loading");
  try {
    const text = await import(url(TEXT + "text_bundle.mjs"));
    const fileset = await text.FilesetResolver.forTextTasks(url(TEXT + "wasm"));
    page.text = await withTimeout(
      text.TextClassifier.createFromOptions(fileset, {
        // MediaPipe's text tasks run on the CPU whatever the delegate.
        baseOptions: { modelAssetPath: url(file), delegate: "CPU" },
        maxResults: -1,
      }),
      `Loading ${file}`,
    );
  } catch (error) {
    const message = error && error.message ? error.message : String(error);
    sayText(`MediaPipe could not load the text classifier: ${message}`,
      "error");
    console.error("text classifier", error);
    return;
  }
  sayText("Ready: type a sentence.", "ready");
}

function readText() {
  const sentence = document.getElementById("sentence").value;
  if (!page.text || !sentence.trim()) return;
  const labels = page.config.text_labels;
  const probabilities = new Array(labels.length).fill(0);
  try {
    const result = page.text.classify(sentence);
    for (const category of result.classifications[0].categories) {
      probabilities[category.index] = category.score;
    }
  } catch (error) {
    sayText(`The text classifier failed: ${error.message || error}`, "error");
    return;
  }
  showBars(
    document.getElementById("text-probabilities"),
    document.getElementById("text-label"),
    labels,
    probabilities,
  );
  page.textRuns += 1;
  document.body.dataset.textRuns = String(page.textRuns);
}

textForm.addEventListener("submit", (event) => {
  event.preventDefault();
  readText();
});

// -- Loading ---------------------------------------------------------------

function withTimeout(promise, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not finish in ${LOAD_SECONDS} s`)),
      1000 * LOAD_SECONDS,
    );
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

async function loadTasks(delegate) {
  if (page.tasks) {
    page.tasks.classifier.close();
    page.tasks.embedder.close();
    page.tasks = null;
  }
  say(`Loading the models on MediaPipe's ${delegate} delegate...`, "loading");
  const vision = page.vision;
  let fileset, classifier, embedder;
  try {
    fileset = await vision.FilesetResolver.forVisionTasks(url(VISION + "wasm"));
    const options = (file) => ({
      modelAssetPath: url(file),
      delegate,
    });
    classifier = await withTimeout(
      vision.ImageClassifier.createFromOptions(fileset, {
        baseOptions: options(page.config.classifier),
        maxResults: page.config.labels.length,
      }),
      `Loading ${page.config.classifier}`,
    );
    embedder = await withTimeout(
      vision.ImageEmbedder.createFromOptions(fileset, {
        baseOptions: options(page.config.attention),
        l2Normalize: false,
        quantize: false,
      }),
      `Loading ${page.config.attention}`,
    );
    // A first run now, so a delegate that refuses the model says so
    // here rather than at the first drawing.
    const size = page.config.image_size;
    const image = toImage(new Uint8ClampedArray(size * size), size);
    classifier.classify(image);
    embedder.embed(image);
  } catch (error) {
    fail(`MediaPipe's ${delegate} delegate could not run the models`, error);
    if (classifier) classifier.close();
    if (embedder) embedder.close();
    return;
  }
  page.tasks = { classifier, embedder, delegate };
  say(`Ready on MediaPipe's ${delegate} delegate: draw a digit.`, "ready");
  read();
}

async function start() {
  clearPad();
  show(null);
  try {
    page.config = await (await fetch(url("page.json"))).json();
  } catch (error) {
    fail("Cannot read page.json (serve this folder over HTTP)", error);
    return;
  }
  const text = loadText();
  if (!page.config.classifier) {
    // A text classifier alone: no digits to draw.
    for (const section of document.querySelectorAll("main > section")) {
      section.hidden = section.id !== "text";
    }
    say("No digit classifier on this page.", "ready");
    await text;
    return;
  }
  try {
    page.vision = await import(url(VISION + "vision_bundle.mjs"));
  } catch (error) {
    fail(
      "Cannot load @mediapipe/tasks-vision: run `npm install` in this " +
        "folder (or serve with --node-modules DIR)",
      error,
    );
    return;
  }
  const load = async () => {
    // One load at a time: the choice waits until this one has finished.
    delegateChoice.disabled = true;
    try {
      await loadTasks(delegateChoice.value);
    } finally {
      delegateChoice.disabled = false;
    }
  };
  delegateChoice.addEventListener("change", load);
  await Promise.all([load(), text]);
}

start();
