"""`training.progress`: plain lines for logs, also during a long epoch."""

import io
import re

import keras
import numpy as np
import pytest

from keras_attn.training import EpochLine
from keras_attn.training import fit_progress

CONTROL = re.compile(r"[\r\b\x1b]")


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def started(interval=10.0, epochs=3, steps=500):
    out, clock = io.StringIO(), FakeClock()
    line = EpochLine(stream=out, interval=interval, clock=clock)
    line.set_params({"epochs": epochs, "steps": steps})
    return line, out, clock


def lines(out):
    return out.getvalue().splitlines()


def test_a_long_epoch_prints_a_line_every_interval():
    line, out, clock = started(interval=10.0)
    line.on_epoch_begin(0)
    # A batch every 0.1 s for 500 batches: a 50 s epoch.
    for batch in range(500):
        clock.now = round(0.1 * (batch + 1), 6)
        line.on_train_batch_end(batch, {"loss": 1.0 / (batch + 1)})
    clock.now = 50.3
    line.on_epoch_end(0, {"loss": 0.25, "val_loss": 0.5})
    # Batches 100, 200, ... end at 10 s, 20 s, ...; the 500th ends with
    # the epoch at 50 s, which gets a line of its own anyway.
    assert lines(out) == [
        "epoch 1/3 - batch 100/500 - 10.0s - loss 0.0100",
        "epoch 1/3 - batch 200/500 - 20.0s - loss 0.0050",
        "epoch 1/3 - batch 300/500 - 30.0s - loss 0.0033",
        "epoch 1/3 - batch 400/500 - 40.0s - loss 0.0025",
        "epoch 1/3 - batch 500/500 - 50.0s - loss 0.0020",
        "epoch 1/3 - 50.3s - loss 0.2500 - val_loss 0.5000",
    ]
    assert not CONTROL.search(out.getvalue())


def test_the_interval_counts_from_the_last_line_and_each_epoch_start():
    line, out, clock = started(interval=5.0, epochs=2, steps=None)
    line.on_epoch_begin(0)
    for batch, now in enumerate([1.0, 6.0, 9.0, 11.5, 12.0]):
        clock.now = now
        line.on_train_batch_end(batch, {})
    clock.now = 13.0
    line.on_epoch_end(0, {})
    clock.now = 14.0
    line.on_train_batch_end(0, {})  # between epochs: nothing to report
    line.on_epoch_begin(1)
    for batch, now in enumerate([18.0, 19.5]):
        clock.now = now
        line.on_train_batch_end(batch, {})
    clock.now = 20.0
    line.on_epoch_end(1, {})
    # Steps unknown: the batch number alone. 6 s (5 after the start),
    # 11.5 s (5.5 after the last line); in epoch 2, 19.5 s (5.5 after
    # its start at 14 s), not 18 s (4 after its start).
    assert lines(out) == [
        "epoch 1/2 - batch 2 - 6.0s",
        "epoch 1/2 - batch 4 - 11.5s",
        "epoch 1/2 - 13.0s",
        "epoch 2/2 - batch 2 - 5.5s",
        "epoch 2/2 - 6.0s",
    ]


def test_validation_batches_of_a_long_epoch_are_reported_too():
    line, out, clock = started(interval=10.0, epochs=1, steps=4)
    line.on_epoch_begin(0)
    clock.now = 12.0
    line.on_train_batch_end(3, {"loss": 0.5})
    clock.now = 23.0
    line.on_test_batch_end(6, {"loss": 0.7})
    clock.now = 24.0
    line.on_epoch_end(0, {"loss": 0.5})
    assert (
        lines(out)[1] == "epoch 1/1 - validation batch 7 - 23.0s - loss 0.7000"
    )


@pytest.mark.parametrize("interval, expected", [(None, 1), (0, 4)])
def test_interval_none_is_epoch_lines_only_and_zero_every_batch(
    interval, expected
):
    line, out, clock = started(interval=interval, epochs=1, steps=3)
    line.on_epoch_begin(0)
    for batch in range(3):
        line.on_train_batch_end(batch, {"loss": 1.0})
    line.on_epoch_end(0, {})
    assert len(lines(out)) == expected
    assert lines(out)[-1] == "epoch 1/1 - 0.0s"


def test_default_interval_is_ten_seconds():
    line, out, clock = started(interval=10.0)
    default = EpochLine(stream=out, clock=clock)
    assert default.interval == 10.0
    _, callbacks = fit_progress("epoch", io.StringIO())
    assert callbacks[0].interval == 10.0


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"interval": -1}, ValueError, r"`interval`.*>= 0.*received -1"),
        ({"interval": "10"}, ValueError, r"`interval`.*received '10'"),
        ({"interval": True}, ValueError, r"`interval`.*received True"),
        ({"interval": float("nan")}, ValueError, r"`interval`.*nan"),
        ({"clock": 3.0}, TypeError, r"`clock`.*function.*received 3.0"),
    ],
)
def test_refuses_a_bad_interval_or_clock(kwargs, error, message):
    with pytest.raises(error, match=message):
        EpochLine(**kwargs)


def test_model_fit_calls_it_between_batches():
    """Keras itself calls the batch hooks with the running logs: with an
    interval of 0, each training and validation batch has its line."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x = np.random.default_rng(0).normal(size=(12, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    out = io.StringIO()
    model.fit(
        x,
        y,
        batch_size=4,
        epochs=2,
        validation_data=(x[:8], y[:8]),
        verbose=0,
        callbacks=[EpochLine(stream=out, interval=0)],
    )
    printed = lines(out)
    pattern = (
        r"epoch 1/2 - batch 1/3 - [0-9.]+s - loss [0-9.]+",
        r"epoch 1/2 - batch 2/3 - [0-9.]+s - loss [0-9.]+",
        r"epoch 1/2 - batch 3/3 - [0-9.]+s - loss [0-9.]+",
        r"epoch 1/2 - validation batch 1 - [0-9.]+s - loss [0-9.]+",
        r"epoch 1/2 - validation batch 2 - [0-9.]+s - loss [0-9.]+",
        r"epoch 1/2 - [0-9.]+s - loss [0-9.]+ - val_loss [0-9.]+",
    )
    assert len(printed) == 12, printed
    for got, expected in zip(printed[:6], pattern, strict=True):
        assert re.fullmatch(expected, got), got
    for got, expected in zip(printed[6:], pattern, strict=True):
        assert re.fullmatch(expected.replace("1/2", "2/2"), got), got
    assert not CONTROL.search(out.getvalue())
