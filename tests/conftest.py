import collections
import gc
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

# A worker collects all garbage itself once its memory has grown this much
# since it last did (see `_fresh_state`).
COLLECT_AFTER_GROWTH_MB = 1024
_rss_at_last_collection_mb = None

# Python's own collector, tuned for processes that hold millions of
# objects (TensorFlow, Keras, every traced graph): each full collection
# walks all of them, and at the default thresholds (700, 10, 10) tracing
# models sets one off every few seconds. A young generation ten times as
# large makes them rarer, and what is alive after collection (the
# imports, the collected tests) is frozen out of the walk
# (`pytest_collection_finish`); garbage is still collected, in larger
# batches. Measured with `gc.callbacks`, the collector's time fell from
# 15 s to 7 s in tests/test_docs.py and from 9 s to 5 s in
# tests/test_docstrings.py (run alone), the largest memory did not grow.
GC_THRESHOLDS = (7000, 10, 10)
gc.set_threshold(*GC_THRESHOLDS)


def rss_mb(pid="self"):
    """Resident memory (`VmRSS`) of process `pid` in MB, from Linux's
    /proc; raises OSError where there is no /proc."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS line")  # pragma: no cover


@pytest.fixture(autouse=True)
def _fresh_state():
    """Every test starts from the float32 policy and a fixed seed.

    Keras's session is cleared after each test (layer names count from
    scratch, the TensorFlow graph and kernel cache are reset) without
    Keras's own full garbage collection: in a worker that has imported
    TensorFlow and run a few hundred tests, one collection walks millions
    of objects (0.3 to 2.5 s, 563 s of the suite's 1,915 s of test time
    on 2026-12-07). Python's own collector still frees what the tests
    leave behind, the tests that measure memory collect themselves, and
    a worker whose memory has grown by `COLLECT_AFTER_GROWTH_MB` since
    its last full collection runs one, so memory stays bounded.
    """
    keras.config.set_dtype_policy("float32")
    keras.utils.set_random_seed(1234)
    yield
    keras.config.set_dtype_policy("float32")
    keras.backend.clear_session(free_memory=False)
    global _rss_at_last_collection_mb
    try:
        rss = rss_mb()
    except (OSError, RuntimeError):
        return  # no /proc: Python's own collector only
    if _rss_at_last_collection_mb is None:
        _rss_at_last_collection_mb = rss
    elif rss - _rss_at_last_collection_mb > COLLECT_AFTER_GROWTH_MB:
        gc.collect()
        _rss_at_last_collection_mb = rss_mb()


@pytest.hookimpl(trylast=True)  # after -k / -m deselection
def pytest_collection_modifyitems(config, items):
    """Runs the tests that wait on a child process (see `test_backends.py`)
    beside the rest of the suite, not after it.

    Alone, the children start here and the tests collect their results
    later. Under pytest-xdist each worker collects every test (so each
    would start them), and with `--no-loadscope-reorder` (pyproject.toml)
    files are handed out in this order: those tests go first, so the
    worker that gets them starts the children at once and waits on them
    while the other runs the rest; then the files with the most tests
    marked `slow` (end-to-end runs of a minute or more), so that no long
    file is left for last while the other worker has nothing to do; then
    the files with the most tests, as xdist's own reordering would.
    """

    def waits_on_a_child(item):
        return hasattr(getattr(item, "module", None), "start_in_background")

    if os.environ.get("PYTEST_XDIST_WORKER"):

        def file_of(item):
            return item.nodeid.split("::")[0]

        sizes = collections.Counter(file_of(item) for item in items)
        slow = collections.Counter(
            file_of(item) for item in items if item.get_closest_marker("slow")
        )
        items.sort(
            key=lambda item: (
                not waits_on_a_child(item),
                -slow[file_of(item)],
                -sizes[file_of(item)],
            )
        )
        return
    for item in items:
        if waits_on_a_child(item):
            item.module.start_in_background(item.name)


def pytest_collection_finish(session):
    """Moves what is alive after collection (modules, test items) out of
    the collector's reach: no full collection walks it again. Whatever
    becomes garbage later is collected as before."""
    gc.collect()
    gc.freeze()


SLOWEST_FILES = 10


def pytest_terminal_summary(terminalreporter):
    """Lists the test files that took longest (setup, call and teardown of
    all their tests, as each worker timed them), for docs/development.md."""
    seconds = collections.Counter()
    for reports in terminalreporter.stats.values():
        for report in reports:
            nodeid = getattr(report, "nodeid", "")
            duration = getattr(report, "duration", None)
            if nodeid and duration is not None:
                seconds[nodeid.split("::")[0]] += duration
    if not seconds:
        return
    terminalreporter.write_sep(
        "-", f"slowest {SLOWEST_FILES} test files (seconds)"
    )
    for name, total in seconds.most_common(SLOWEST_FILES):
        terminalreporter.write_line(f"{total:8.1f}  {name}")
    terminalreporter.write_line(
        f"{sum(seconds.values()):8.1f}  all {len(seconds)} files"
    )


def pytest_sessionfinish(session, exitstatus):
    for item in session.items:
        stop = getattr(getattr(item, "module", None), "stop_all", None)
        if stop is not None:
            stop()
            return


WORDS = {
    1: "good great fine lovely superb".split(),
    0: "bad awful poor dull boring".split(),
}
FILLER = "the film was a and it story".split()


def _sentiment_tsv(path, count, seed):
    """Sentences whose label is the polarity of their one opinion word."""
    rng = np.random.default_rng(seed)
    lines = ["label\tsentence"]
    for _ in range(count):
        label = int(rng.integers(0, 2))
        words = list(rng.choice(FILLER, size=4)) + [rng.choice(WORDS[label])]
        rng.shuffle(words)
        lines.append(f"{label}\t{' '.join(words)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def sentiment_tsv():
    """Writes a label<TAB>sentence file that a tiny BERT can learn (a
    function of no state: module fixtures may use it too)."""
    return _sentiment_tsv


def _swap_pairs_tsv(path):
    """20 "colour animal" -> "animal colour" pairs as a TSV of pairs."""
    pairs = [
        (f"{a} {b}", f"{b} {a}")
        for a in "red green blue black white".split()
        for b in "cat dog bird fish".split()
    ]
    path.write_text("\n".join(f"{s}\t{t}" for s, t in pairs) + "\n")
    return pairs, path


@pytest.fixture(scope="session")
def swap_pairs_tsv():
    """Writes a tiny translation task: `(pairs, path)`."""
    return _swap_pairs_tsv


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per module for the web tests (tests/web/): a
    `browser.Browser`, pages from `browser.open(mounts)`; the module
    skips, saying why, where Chromium, Playwright or the npm packages are
    missing (tests/browser.py). Here rather than in a tests/web/conftest,
    which would shadow this module for `from conftest import ...`."""
    import browser as harness

    with harness.browser() as chromium:
        yield chromium


# Property tests (tests/test_properties.py): a fixed set of draws in CI so
# a failure reproduces; HYPOTHESIS_PROFILE=explore searches wider.
settings.register_profile(
    "ci", max_examples=25, derandomize=True, deadline=None, print_blob=True
)
settings.register_profile("explore", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
