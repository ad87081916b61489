"""Kept for imports written before the export package was split by job
(`keras_attn.export.litert.to_tflite` and friends): the names now live in
`tflite` (the export), `converter` (the worker), `runtime` (running and
comparing files) and `calibration`."""

from keras_attn.export.calibration import WIDE_CHANNEL_RATIO
from keras_attn.export.calibration import residual_scales
from keras_attn.export.converter import SIGNATURE
from keras_attn.export.converter import WORKER_MAX_JOBS
from keras_attn.export.converter import WORKER_MAX_RSS_MB
from keras_attn.export.converter import UnsupportedOpsError
from keras_attn.export.converter import convert_saved_model
from keras_attn.export.report import count_ops
from keras_attn.export.report import non_builtin_ops
from keras_attn.export.runtime import LiteRTRunner
from keras_attn.export.runtime import accumulate
from keras_attn.export.runtime import check_tflite
from keras_attn.export.runtime import compare
from keras_attn.export.saved_model import model_endpoint
from keras_attn.export.saved_model import write_saved_model
from keras_attn.export.tflite import QUANTIZATIONS
from keras_attn.export.tflite import to_tflite
from keras_attn.export.tflite import translator_to_tflite

__all__ = [
    "QUANTIZATIONS",
    "SIGNATURE",
    "WIDE_CHANNEL_RATIO",
    "WORKER_MAX_JOBS",
    "WORKER_MAX_RSS_MB",
    "LiteRTRunner",
    "UnsupportedOpsError",
    "accumulate",
    "check_tflite",
    "compare",
    "convert_saved_model",
    "count_ops",
    "model_endpoint",
    "non_builtin_ops",
    "residual_scales",
    "to_tflite",
    "translator_to_tflite",
    "write_saved_model",
]
