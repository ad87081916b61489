"""Names the command line offers as choices (private).

Kept free of imports so that `keras-attn --help` lists them without
loading TensorFlow; the modules that act on them
(`keras_attn.training.distribute`) import them from here.
"""

STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker", "tpu")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
