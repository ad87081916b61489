"""Writing artifacts so that a killed export never leaves a half-written
one where a good one was (private).

A file is written beside its target under a hidden name carrying the
writer's PID, then renamed over the target (atomic within a file system).
A folder (a SavedModel) is swapped in with Linux's `renameat2` and
`RENAME_EXCHANGE`, which is atomic too; where that is unavailable the old
folder is renamed aside first, so for a moment the target is missing but
never partial. Leftovers of a killed writer (hidden names whose PID no
longer runs) are removed by the next export to the same target.
"""

import ctypes
import ctypes.util
import os
import pathlib
import shutil

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def partial_name(target, kind="partial"):
    target = pathlib.Path(target)
    return target.with_name(f".{target.name}.{kind}-{os.getpid()}")


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(target):
    """Deletes what killed writers of `target` left beside it."""
    target = pathlib.Path(target)
    for kind in ("partial", "old"):
        for stale in target.parent.glob(f".{target.name}.{kind}-*"):
            pid = stale.name.rsplit("-", 1)[-1]
            if not pid.isdigit() or _alive(int(pid)):
                continue
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)


def _exchange(first, second):
    """Atomically swaps two paths; False where the system cannot."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(
        _AT_FDCWD,
        os.fsencode(first),
        _AT_FDCWD,
        os.fsencode(second),
        _RENAME_EXCHANGE,
    )
    return result == 0


def replace_folder(source, target):
    """Moves the finished folder `source` to `target`, replacing it."""
    target = pathlib.Path(target)
    if not target.exists():
        os.replace(source, target)
        return
    if _exchange(source, target):
        shutil.rmtree(source, ignore_errors=True)  # now the old folder
        return
    old = partial_name(target, "old")
    os.replace(target, old)
    os.replace(source, target)
    shutil.rmtree(old, ignore_errors=True)
