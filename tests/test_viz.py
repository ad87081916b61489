"""`keras_attn.viz`: heatmaps, head grids, image overlays and rollout."""

import ast
import doctest
import inspect
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")  # tests only; the library never picks a backend
import matplotlib.pyplot as plt  # noqa: E402

from keras_attn import viz  # noqa: E402

TOKENS = ["[CLS]", "the", "cat", "sat", "[SEP]"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")
    assert plt.get_fignums() == []


def probabilities(*shape, seed=0):
    """Random rows that sum to one, shape `(..., T)`."""
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.ones(shape[-1]), shape[:-1])


def labels(ticks):
    return [label.get_text() for label in ticks]


# plot_attention


def test_heatmap_shows_the_scores_with_tokens_on_the_axes():
    scores = probabilities(5, 4)
    keys = ["a", "b", "c", "d"]
    ax = viz.plot_attention(scores, TOKENS, keys, title="layer 3")
    np.testing.assert_array_equal(ax.images[-1].get_array(), scores)
    assert labels(ax.get_xticklabels()) == keys  # x: keys
    assert labels(ax.get_yticklabels()) == TOKENS  # y: queries
    assert ax.get_title() == "layer 3"
    # One colorbar: a second Axes on the same figure.
    assert len(ax.figure.axes) == 2


def test_heatmap_keys_default_to_queries_and_draws_on_a_given_axes():
    fig, ax = plt.subplots()
    scores = probabilities(5, 5)
    returned = viz.plot_attention(scores, TOKENS, ax=ax, colorbar=False)
    assert returned is ax
    assert labels(ax.get_xticklabels()) == TOKENS
    assert len(fig.axes) == 1


def test_heatmap_accepts_a_tensor():
    from keras import ops

    scores = probabilities(5, 5)
    ax = viz.plot_attention(ops.convert_to_tensor(scores, "float32"), TOKENS)
    np.testing.assert_allclose(ax.images[-1].get_array(), scores, rtol=1e-6)


@pytest.mark.parametrize(
    "scores, queries, keys, message",
    [
        (np.zeros((2, 5, 5)), TOKENS, None, r"2-D \(query, key\).*\(2, 5, 5\)"),
        (np.zeros(5), TOKENS, None, r"2-D.*\(5,\)"),
        (np.zeros((5, 5)), TOKENS[:4], None, "expected 5, received 4"),
        (np.zeros((5, 3)), TOKENS, None, "per column.*expected 3, received 5"),
        (np.zeros((5, 3)), TOKENS, ["a", "b"], "expected 3, received 2"),
        (np.zeros((5, 5)), "the cat", None, "received the string"),
    ],
)
def test_heatmap_refuses_wrong_shapes(scores, queries, keys, message):
    with pytest.raises(ValueError, match=message):
        viz.plot_attention(scores, queries, keys)
    assert plt.get_fignums() == []  # checked before drawing anything


# plot_attention_heads


@pytest.mark.parametrize("heads, columns, rows", [(3, 4, 1), (6, 4, 2)])
def test_grid_has_one_axes_per_head(heads, columns, rows):
    scores = probabilities(heads, 5, 5)
    fig = viz.plot_attention_heads(
        scores, TOKENS, layer_name="transformer_layer_0", columns=columns
    )
    heatmaps = [ax for ax in fig.axes if ax.images]
    assert len(heatmaps) == heads
    assert len(fig.axes) == heads + 1  # the shared colorbar, no spare axes
    assert [ax.get_title() for ax in heatmaps] == [
        f"head {h}" for h in range(heads)
    ]
    grid_rows = {ax.get_subplotspec().rowspan.start for ax in heatmaps}
    assert len(grid_rows) == rows
    for head, ax in enumerate(heatmaps):
        np.testing.assert_array_equal(ax.images[-1].get_array(), scores[head])
        assert labels(ax.get_xticklabels()) == TOKENS
        # One colour scale for every head.
        assert ax.images[-1].get_clim() == (scores.min(), scores.max())
    assert fig.get_suptitle() == "transformer_layer_0"


@pytest.mark.parametrize(
    "scores, tokens, columns, message",
    [
        (np.zeros((1, 2, 5, 5)), TOKENS, 4, r"3-D.*scores\[i\]"),
        (np.zeros((5, 5)), TOKENS, 4, r"3-D.*\(5, 5\)"),
        (np.zeros((2, 5, 5)), TOKENS[:3], 4, "expected 5, received 3"),
        (np.zeros((2, 5, 5)), TOKENS, 0, "`columns` must be an int >= 1"),
    ],
)
def test_grid_refuses_wrong_shapes(scores, tokens, columns, message):
    with pytest.raises(ValueError, match=message):
        viz.plot_attention_heads(scores, tokens, columns=columns)
    assert plt.get_fignums() == []


# plot_image_attention and upsample_attention


@pytest.mark.parametrize(
    "image_shape, patch, patch_index",
    [
        ((8, 8, 3), 2, 6),  # RGB, 4x4 patches, row 1 col 2
        ((8, 8), 4, 3),  # grayscale, 2x2 patches, row 1 col 1
        ((6, 8, 1), (3, 2), 5),  # one channel, 2x4 patches, row 1 col 1
    ],
)
def test_overlay_has_the_image_size_and_peaks_in_the_patch(
    image_shape, patch, patch_index
):
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, image_shape).astype("uint8")
    patch_h, patch_w = patch if isinstance(patch, tuple) else (patch, patch)
    rows = image_shape[0] // patch_h
    cols = image_shape[1] // patch_w
    attention = rng.uniform(0.0, 0.1, rows * cols)
    attention[patch_index] = 1.0

    ax = viz.plot_image_attention(image, attention, patch, alpha=0.4)
    shown, overlay = (im.get_array() for im in ax.images)
    assert overlay.shape == image_shape[:2]
    row, col = np.unravel_index(np.argmax(overlay), overlay.shape)
    assert (row // patch_h, col // patch_w) == divmod(patch_index, cols)
    # Every pixel of the peak patch carries the peak.
    top, left = divmod(patch_index, cols)
    block = overlay[
        top * patch_h : (top + 1) * patch_h,
        left * patch_w : (left + 1) * patch_w,
    ]
    np.testing.assert_array_equal(block, 1.0)
    assert ax.images[1].get_alpha() == 0.4
    # The image is drawn rescaled to 0-1, grayscale as 2-D.
    assert shown.shape == image_shape[:2] + (
        (3,) if image_shape[-1] == 3 else ()
    )
    assert shown.min() == 0.0 and shown.max() == 1.0


def test_overlay_takes_a_grid():
    grid = np.zeros((2, 4))
    grid[1, 3] = 1.0
    ax = viz.plot_image_attention(np.ones((4, 8)), grid, 2)
    overlay = ax.images[1].get_array()
    expected = np.zeros((4, 8))
    expected[2:, 6:] = 1.0
    np.testing.assert_array_equal(overlay, expected)


@pytest.mark.parametrize(
    "image, attention, patch, kwargs, message",
    [
        (np.zeros((8, 8)), np.zeros(17), 2, {}, "received 17.*class token"),
        (np.zeros((8, 8)), np.zeros(9), 2, {}, "expected 16.*received 9"),
        (np.zeros((8, 8)), np.zeros((4, 2)), 2, {}, r"\(4, 4\).*\(4, 2\)"),
        (np.zeros((8, 8)), np.zeros((2, 2, 4)), 2, {}, "1-D.*2-D"),
        (np.zeros((8, 8)), np.zeros(16), 3, {}, "must divide"),
        (np.zeros((8, 8)), np.zeros(16), 0, {}, "positive int"),
        (np.zeros((8, 8, 2)), np.zeros(16), 2, {}, "1, 3 or 4 channels"),
        (np.zeros((1, 8, 8, 3)), np.zeros(16), 2, {}, r"\(1, 8, 8, 3\)"),
        (np.zeros((8, 8)), np.zeros(16), 2, {"alpha": 1.5}, "alpha"),
    ],
)
def test_overlay_refuses_wrong_shapes(image, attention, patch, kwargs, message):
    with pytest.raises(ValueError, match=message):
        viz.plot_image_attention(image, attention, patch, **kwargs)
    assert plt.get_fignums() == []


def test_upsample_is_nearest_patch():
    grid = np.arange(6.0).reshape(2, 3)
    up = viz.upsample_attention(grid.ravel(), (4, 9), (2, 3))
    for i in range(4):
        for j in range(9):
            assert up[i, j] == grid[i // 2, j // 3]


# attention_rollout and class_token_attention


def numpy_rollout(layers, fusion=np.mean):
    """Abnar & Zuidema's rollout written with explicit loops, one example."""
    tokens = layers[0].shape[-1]
    result = None
    for scores in layers:  # (heads, T, T)
        fused = [
            [float(fusion(scores[:, i, j])) for j in range(tokens)]
            for i in range(tokens)
        ]
        for i in range(tokens):
            fused[i][i] += 1.0
            total = sum(fused[i])
            fused[i] = [value / total for value in fused[i]]
        if result is None:
            result = fused
            continue
        result = [
            [
                sum(fused[i][k] * result[k][j] for k in range(tokens))
                for j in range(tokens)
            ]
            for i in range(tokens)
        ]
    return np.array(result)


@pytest.mark.parametrize(
    "fusion, reduce", [("mean", np.mean), ("max", np.max), ("min", np.min)]
)
def test_rollout_equals_a_numpy_loop(fusion, reduce):
    # 3 layers, batch 2, 4 heads, class token + 5 patches.
    layers = [probabilities(2, 4, 6, 6, seed=s) for s in range(3)]
    got = viz.attention_rollout(layers, head_fusion=fusion)
    assert got.shape == (2, 6, 6)
    for b in range(2):
        expected = numpy_rollout([layer[b] for layer in layers], reduce)
        np.testing.assert_allclose(got[b], expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got.sum(axis=-1), 1.0, rtol=1e-12)


def test_rollout_takes_a_dict_in_order_and_a_stacked_array():
    layers = [probabilities(3, 4, 4, seed=s) for s in range(3)]
    named = {f"transformer_layer_{i}": a for i, a in enumerate(layers)}
    from_dict = viz.attention_rollout(named)
    np.testing.assert_allclose(from_dict, numpy_rollout(layers), rtol=1e-12)
    np.testing.assert_array_equal(
        viz.attention_rollout(np.stack(layers)), from_dict
    )
    # The order matters: the last layer multiplies on the left.
    assert not np.allclose(viz.attention_rollout(layers[::-1]), from_dict)


@pytest.mark.parametrize(
    "scores, kwargs, message",
    [
        ([], {}, "at least one layer"),
        ([np.zeros((2, 3, 4))], {}, "square"),
        ([np.zeros((2, 3, 3)), np.zeros((2, 4, 4))], {}, "same shape"),
        ([np.zeros((3, 3))], {}, r"\(heads, T, T\)"),
        ([np.zeros((2, 3, 3))], {"head_fusion": "sum"}, "head_fusion"),
        (np.zeros((3, 3)), {}, "dict or list"),
    ],
)
def test_rollout_refuses_bad_input(scores, kwargs, message):
    with pytest.raises(ValueError, match=message):
        viz.attention_rollout(scores, **kwargs)


def test_class_token_attention():
    scores = probabilities(2, 3, 5, 5)  # batch 2, 3 heads, CLS + 4 patches
    np.testing.assert_array_equal(
        viz.class_token_attention(scores), scores[:, :, 0, 1:].mean(axis=1)
    )
    np.testing.assert_array_equal(
        viz.class_token_attention(scores[0], average_heads=False),
        scores[0, :, 0, 1:],
    )
    with pytest.raises(ValueError, match=r"\(heads, T, T\).*\(5, 5\)"):
        viz.class_token_attention(scores[0, 0])


# Packaging


def test_matplotlib_is_only_imported_inside_functions():
    tree = ast.parse(inspect.getsource(viz))
    top_level = [
        alias.name
        for node in tree.body
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    ] + [node.module for node in tree.body if isinstance(node, ast.ImportFrom)]
    assert not any(name and "matplotlib" in name for name in top_level)
    # Nothing picks a backend or shows a window.
    attributes = {
        node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
    }
    assert not attributes & {"use", "switch_backend", "show", "ion"}


def test_missing_matplotlib_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        viz.plot_attention(np.eye(2), ["a", "b"])
    # NumPy-only helpers still work.
    assert viz.class_token_attention(np.eye(3)[None]).shape == (2,)


@pytest.mark.parametrize("name", viz.__all__)
def test_docstring_example_runs(name):
    obj = getattr(viz, name)
    finder = doctest.DocTestFinder(recurse=False)
    tests = finder.find(obj, name, globs=dict(vars(viz)))
    assert sum(len(t.examples) for t in tests) > 0, f"{name}: no example"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in tests:
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
