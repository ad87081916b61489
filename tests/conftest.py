import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_state():
    """Every test starts from the float32 policy and a fixed seed."""
    keras.config.set_dtype_policy("float32")
    keras.utils.set_random_seed(1234)
    yield
    keras.config.set_dtype_policy("float32")
    keras.backend.clear_session()


@pytest.hookimpl(trylast=True)  # after -k / -m deselection
def pytest_collection_modifyitems(config, items):
    """Starts the child processes of tests that wait on one (see
    `test_backends.py`), so that they run beside the rest of the suite."""
    for item in items:
        start = getattr(
            getattr(item, "module", None), "start_in_background", None
        )
        if start is not None:
            start(item.name)


def pytest_sessionfinish(session, exitstatus):
    for item in session.items:
        stop = getattr(getattr(item, "module", None), "stop_all", None)
        if stop is not None:
            stop()
            return
