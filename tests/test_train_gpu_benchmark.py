"""benchmarks/train_gpu.py runs on CPU at tiny sizes (on a GPU it is real)."""

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "train_gpu.py"


def test_tiny_run_on_jax_reports_both_implementations(tmp_path):
    out = tmp_path / "train_gpu.json"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", JAX_PLATFORMS="cpu")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--backend", "jax", "--tiny"]
        + ["--models", "vit", "--steps", "1", "--repeats", "1"]
        + ["--warmup", "1", "--json", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
    assert result.returncode == 0, tail
    report = json.loads(out.read_text())
    assert report["backend"] == "jax"
    assert report["precision"] == "mixed_bfloat16"
    rows = {(r["model"], r["implementation"]): r for r in report["rows"]}
    # One model keeps the suite short; BERT takes the same code path.
    assert set(rows) == {("vit", "keras-attn"), ("vit", "keras-hub")}
    for row in rows.values():
        assert row["ms_per_step"] > 0
        # Tokens per second follow from the step time and the batch.
        tokens = 32 if row["model"] == "bert" else (32 // 8) ** 2 + 1
        assert (
            abs(row["tokens_per_s"] - 4 * tokens * 1000 / row["ms_per_step"])
            <= 1e-6 * row["tokens_per_s"]
        )
        assert row["mfu"] is None  # no peak is known for a CPU
    assert "| vit | keras-attn |" in result.stdout
