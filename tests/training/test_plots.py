"""`training.plot_history`: curves that read at any number of epochs."""

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")  # tests only; the library never picks a backend
import matplotlib.pyplot as plt  # noqa: E402

from keras_attn.training import plot_history  # noqa: E402
from keras_attn.training.plots import MARKED_EPOCHS  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def has_marker(line):
    return line.get_marker() not in (None, "", " ", "None", "none")


def series(ax):
    """`{legend label: (epochs, values)}` of the lines drawn on `ax`."""
    return {
        line.get_label(): (
            [float(x) for x in line.get_xdata()],
            [float(y) for y in line.get_ydata()],
        )
        for line in ax.get_lines()
        if not line.get_label().startswith("_")
    }


def visible_ticks(ax):
    low, high = ax.get_xlim()
    return [t for t in ax.get_xticks() if low <= t <= high]


def test_one_epoch_is_points_with_their_values_on_a_whole_epoch_axis(
    tmp_path,
):
    history = {
        "loss": [0.9],
        "accuracy": [0.61],
        "val_loss": [1.25],
        "val_accuracy": [0.5],
    }
    figure = plot_history(history, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 0
    loss, accuracy = figure.axes
    assert (loss.get_ylabel(), accuracy.get_ylabel()) == ("loss", "accuracy")
    assert series(loss) == {
        "training": ([1.0], [0.9]),
        "held out": ([1.0], [1.25]),
    }
    for ax in figure.axes:
        # A lone value is only visible as a marker: every series has one.
        assert len(ax.get_lines()) == 2
        assert all(has_marker(line) for line in ax.get_lines())
        # One tick, at epoch 1, and room around it (not 0.96 to 1.04).
        assert list(visible_ticks(ax)) == [1.0]
        low, high = ax.get_xlim()
        assert low <= 0.6 and high >= 1.4
    # The values are written beside their points.
    written = [text.get_text() for text in loss.texts]
    assert any("0.9000" in text for text in written), written
    assert any("1.2500" in text for text in written), written
    assert any("0.6100" in t.get_text() for t in accuracy.texts)


def test_a_few_epochs_have_markers_and_integer_ticks(tmp_path):
    rng = np.random.default_rng(0)
    epochs = 7
    history = {
        "loss": list(rng.uniform(0.1, 2.0, epochs)),
        "val_loss": list(rng.uniform(0.1, 2.0, epochs)),
    }
    figure = plot_history(history, tmp_path / "curves.png", title="seven")
    (ax,) = figure.axes
    drawn = series(ax)
    assert drawn["training"][0] == list(range(1, epochs + 1))
    np.testing.assert_allclose(drawn["held out"][1], history["val_loss"])
    assert all(has_marker(line) for line in ax.get_lines())
    figure.canvas.draw()
    ticks = visible_ticks(ax)
    assert len(ticks) >= 2
    assert all(float(t).is_integer() for t in ticks), ticks
    low, high = ax.get_xlim()
    assert low < 1 and high > epochs
    assert figure.get_suptitle() == "seven"
    assert not ax.texts  # values are written out for one epoch only


def test_a_long_run_is_lines_with_integer_ticks(tmp_path):
    epochs = MARKED_EPOCHS + 1
    history = [
        {"epoch": e, "loss": 1.0 / e, "accuracy": e / (epochs + 1)}
        for e in range(1, epochs + 1)
    ]
    figure = plot_history(history, tmp_path / "curves.png")
    figure.canvas.draw()
    for ax in figure.axes:
        (line,) = ax.get_lines()
        assert len(line.get_xdata()) == epochs
        assert all(float(t).is_integer() for t in visible_ticks(ax))


def test_validation_on_some_epochs_is_drawn_at_those_epochs(tmp_path):
    # TrainingResult.history: held-out figures only every second epoch.
    history = [
        {"epoch": 1, "loss": 1.0},
        {"epoch": 2, "loss": 0.8, "val_loss": 0.9},
        {"epoch": 3, "loss": 0.7},
        {"epoch": 4, "loss": 0.6, "val_loss": 0.75},
    ]
    figure = plot_history(history, tmp_path / "curves.png")
    drawn = series(figure.axes[0])
    assert drawn["held out"] == ([2.0, 4.0], [0.9, 0.75])
    assert drawn["training"][0] == [1.0, 2.0, 3.0, 4.0]


def test_a_keras_history_object(tmp_path):
    class History:  # what model.fit returns: the dict in `.history`
        history = {"loss": [0.5, 0.4], "val_loss": [0.6, 0.5]}

    figure = plot_history(History(), tmp_path / "curves.png")
    assert series(figure.axes[0])["held out"] == ([1.0, 2.0], [0.6, 0.5])


@pytest.mark.parametrize(
    "history, message",
    [
        ([], "at least one epoch.*received none"),
        ({"loss": []}, "at least one epoch"),
        ({"accuracy": [0.5]}, r"'loss'.*\['accuracy'\]"),
        ([{"epoch": 1, "accuracy": 0.5}], r"'loss'.*\['accuracy', 'epoch'\]"),
        (
            {"loss": [1.0, 0.9, 0.8], "val_loss": [0.9]},
            r"one value per epoch \(3.*\{'val_loss': 1\}",
        ),
    ],
)
def test_refuses_a_history_it_cannot_draw(history, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        plot_history(history, tmp_path / "curves.png")
    assert not (tmp_path / "curves.png").exists()
