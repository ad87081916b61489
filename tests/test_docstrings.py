"""Runs the `Example:` of every public docstring so they stay true."""

import doctest

import pytest

import keras_attn
from keras_attn import cli
from keras_attn import data
from keras_attn import demo
from keras_attn import distribute
from keras_attn import export
from keras_attn import layers
from keras_attn import models
from keras_attn import tasks
from keras_attn import training
from keras_attn import viz
from keras_attn.apps import demo as apps_demo
from keras_attn.apps import jobs
from keras_attn.apps import web_page
from keras_attn.apps import web_server
from keras_attn.models import audio
from keras_attn.models import bert
from keras_attn.models import rnn
from keras_attn.models import translator
from keras_attn.models import vit
from keras_attn.models.translator import decoding
from keras_attn.models.translator import text
from keras_attn.training import distribute as training_distribute

PUBLIC = [
    getattr(module, name)
    for module in (
        keras_attn,
        layers,
        models,
        audio,
        bert,
        rnn,
        vit,
        translator,
        decoding,
        text,
        export,
        data,
        training,
        training_distribute,
        apps_demo,
        jobs,
        web_page,
        web_server,
        viz,
        cli,
        # The old paths: the same objects, counted once.
        distribute,
        demo,
        tasks,
    )
    for name in module.__all__
    if callable(getattr(module, name))
]
PUBLIC = list({id(obj): obj for obj in PUBLIC}.values())  # one of each


@pytest.mark.parametrize("obj", PUBLIC, ids=lambda o: o.__name__)
def test_docstring_example_runs(obj):
    finder = doctest.DocTestFinder(recurse=False)
    # Examples see every public name, as after `from ... import *`.
    names = {o.__name__: o for o in PUBLIC}
    tests = finder.find(obj, obj.__name__, globs=names)
    examples = sum(len(t.examples) for t in tests)
    assert examples > 0, f"{obj.__name__} has no runnable example"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} example(s) failed"
