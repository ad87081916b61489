import numpy as np

from keras_attn import cli
from keras_attn import demo


def test_order_task_labels_follow_marker_order():
    ids, labels = demo.make_order_task(200, seed=3)
    for row, label in zip(ids, labels, strict=True):
        a = int(np.flatnonzero(row == demo.MARK_A)[0])
        b = int(np.flatnonzero(row == demo.MARK_B)[0])
        assert label == int(a < b)
        assert (row == demo.MARK_A).sum() == (row == demo.MARK_B).sum() == 1
    assert 0.35 < labels.mean() < 0.65


def test_demo_learns_the_order_task():
    # A short run; the default (12 epochs, 4000 examples) reaches about
    # 0.99. Chance is 0.5, and a model without positions cannot beat it.
    accuracy = demo.run(epochs=4, num_examples=2000, verbose=0)
    assert accuracy > 0.8


def test_cli_version(capsys):
    assert cli.main(["version"]) == 0
    assert "keras-attn" in capsys.readouterr().out
