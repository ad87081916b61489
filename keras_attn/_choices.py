"""Names the command line offers as choices (private).

Kept free of imports so that `keras-attn --help` lists them without
loading TensorFlow; the modules that act on them
(`keras_attn.training.distribute`, `keras_attn.training.progress`,
`keras_attn.export.mediapipe`, `keras_attn.export.accelerators`) import
them from here.
"""

STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker", "tpu")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
# How training shows its progress (keras_attn.training.progress).
PROGRESS = ("auto", "bar", "epoch", "none")
# What `keras_attn.export.to_tflite` writes.
QUANTIZATIONS = ("float16", "dynamic_int8", "int8")
# The MediaPipe Tasks `keras_attn.export.to_mediapipe` writes files for,
# and how a grey model's file turns MediaPipe's RGB into one channel.
MEDIAPIPE_TASKS = (
    "text_classifier",
    "text_embedder",
    "image_classifier",
    "image_embedder",
    "audio_classifier",
)
GRAYSCALE = ("mean", "luma")
# Where `keras_attn.export.accelerators` compiles a file, and the SoCs
# LiteRT 2.3's Qualcomm target lists (its `SocModel`, without ALL).
ACCELERATORS = ("gpu", "npu")
QUALCOMM_SOCS = (
    "SA8255",
    "SA8295",
    "SM8350",
    "SM8450",
    "SM8475",
    "SM8550",
    "SM8650",
    "SM8750",
    "SM8845",
    "SM8850",
)
