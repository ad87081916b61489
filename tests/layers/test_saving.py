"""A `.keras` round trip of one functional model that uses every layer."""

import keras
import numpy as np
from keras import ops

from keras_attn import layers


def build_model():
    token_ids = keras.Input((6,), dtype="int32", name="token_ids")
    segment_ids = keras.Input((6,), dtype="int32", name="segment_ids")
    images = keras.Input((8, 8, 1), name="images")
    padding_mask = ops.not_equal(token_ids, 0)

    text = layers.BertEmbedding(50, 16, max_sequence_length=8)(
        token_ids, segment_ids
    )
    text = text + layers.SinusoidalPositionalEncoding()(text)
    text = layers.TransformerEncoder(32, 2, activation="gelu_approximate")(
        text, padding_mask=padding_mask
    )
    text = layers.MultiHeadSelfAttention(2)(text, padding_mask=padding_mask)

    vision = layers.PatchEmbedding(8, 4, 16)(images)
    vision = vision + layers.PositionalEmbedding(5)(vision)
    vision = layers.TransformerEncoder(32, 2, normalize_first=True)(vision)

    fused = layers.TransformerDecoder(32, 2, activation="gelu")(
        text, vision, decoder_padding_mask=padding_mask
    )
    fused = layers.MultiHeadAttention(2, key_dim=4)(fused, vision)
    pooled = layers.BertPooler()(fused)
    outputs = keras.layers.Dense(3)(pooled)
    return keras.Model([token_ids, segment_ids, images], outputs)


def test_keras_file_round_trip_gives_identical_outputs(tmp_path):
    model = build_model()
    rng = np.random.default_rng(0)
    data = [
        np.array([[5, 6, 7, 0, 0, 0], [8, 9, 10, 11, 12, 13]], "int32"),
        rng.integers(0, 2, (2, 6)).astype("int32"),
        rng.standard_normal((2, 8, 8, 1)).astype("float32"),
    ]
    before = ops.convert_to_numpy(model(data))
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.saving.load_model(path)  # safe_mode stays on
    after = ops.convert_to_numpy(restored(data))
    np.testing.assert_array_equal(before, after)
    assert [type(layer) for layer in restored.layers] == [
        type(layer) for layer in model.layers
    ]
