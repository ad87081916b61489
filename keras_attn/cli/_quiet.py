"""A quiet start: TensorFlow's C++ logs hidden unless `--verbose` (private).

TensorFlow 2.21 writes about eight lines to stderr as it loads and as it
first looks for a GPU (`failed call to cuInit` on a machine without one,
which reads like a failure); LiteRT adds `Created TensorFlow Lite XNNPACK
delegate`. Most come from absl before its logging starts, so
`TF_CPP_MIN_LOG_LEVEL` does not reach them, and C++ writes them to file
descriptor 2 directly, past `sys.stderr`.

`quiet_logs` sets `TF_CPP_MIN_LOG_LEVEL=2` (unless the user set it) before
anything imports TensorFlow, and routes file descriptor 2 through a small
filter process that drops those lines and passes every other byte on:
Python warnings and errors, tracebacks, and what child processes write.
The filter is a process, not a thread, so that what this process wrote
before a crash (a segfault's report) still comes out; it ignores Ctrl-C
and ends when the last writer closes the pipe.
"""

import contextlib
import os
import subprocess
import sys

# The filter's program: lines of stdin to stdout, but TensorFlow's and
# LiteRT's start-up chatter. An unfinished line that holds "\r" (a
# progress display) is passed on at once up to its last "\r".
_FILTER = r"""
import os, re, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
NOISE = re.compile(
    rb"WARNING: All log messages before absl::InitializeLog\(\) is called"
    rb"|[IW]\d{4} \d+:\d+:\d+\.\d+ +\d+ [\w./+-]+:\d+\] "
    rb"|E\d{4} .*(failed call to cuInit|Unable to register cu\w+ factory"
    rb"|computation placer already registered)"
    rb"|To enable the following instructions: .*rebuild TensorFlow"
    rb"|INFO: Created TensorFlow Lite \w+ delegate for CPU"
)
out = sys.stdout.buffer
pending = b""
while True:
    chunk = os.read(0, 65536)
    if not chunk:
        break
    pending += chunk
    *lines, pending = pending.split(b"\n")
    kept = b"".join(l + b"\n" for l in lines if not NOISE.match(l))
    if b"\r" in pending and not NOISE.match(pending):
        cut = pending.rindex(b"\r") + 1
        kept, pending = kept + pending[:cut], pending[cut:]
    if kept:
        out.write(kept)
        out.flush()
if pending and not NOISE.match(pending):
    out.write(pending)
    out.flush()
"""


@contextlib.contextmanager
def quiet_logs(verbose=False):
    """Hides TensorFlow's and LiteRT's C++ start-up logs inside the block.

    Does nothing with `verbose`, or when TensorFlow is already loaded
    (its start-up is over: a Python session or a test calling `main`).
    """
    if verbose or "tensorflow" in sys.modules:
        yield
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        sys.stderr.flush()
        original = os.dup(2)
    except (OSError, ValueError):  # no stderr to filter
        yield
        return
    read, write = os.pipe()
    try:
        filter_process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _FILTER],
            stdin=read,
            stdout=original,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        os.close(read)
        os.close(write)
        os.close(original)
        yield
        return
    os.close(read)
    os.dup2(write, 2)  # C++ and children write here now
    os.close(write)
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        os.dup2(original, 2)
        os.close(original)
        try:
            filter_process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a child still holds the pipe
            pass
