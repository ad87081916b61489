"""A static file server on 127.0.0.1 for web pages that run our files.

Browsers load MediaPipe's and LiteRT.js's `.wasm` files and ES modules
only over HTTP, with the right content types; Python's `http.server`
guesses neither `.mjs` nor `.wasm`. `serve` maps URL prefixes to
folders (the page, the npm packages, the exported models), so nothing is
copied, and listens on the loopback interface only: the page works with
no network once the npm packages are installed.
"""

import contextlib
import functools
import http.server
import pathlib
import posixpath
import threading
import urllib.parse

CONTENT_TYPES = {
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".wasm": "application/wasm",
    ".tflite": "application/octet-stream",
    ".json": "application/json",
}


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        **CONTENT_TYPES,
    }

    def __init__(self, *args, mounts, quiet, **kwargs):
        self.mounts = mounts
        self.quiet = quiet
        super().__init__(*args, **kwargs)

    def translate_path(self, path):
        """The file for `path`: the longest mounted prefix wins; a path
        that climbs out of its folder (`..`) maps to nothing."""
        path = urllib.parse.unquote(urllib.parse.urlsplit(path).path)
        path = posixpath.normpath(path)
        for prefix in sorted(self.mounts, key=len, reverse=True):
            if path == prefix.rstrip("/") or path.startswith(prefix):
                folder = self.mounts[prefix]
                rest = path[len(prefix) :].lstrip("/")
                target = (folder / rest).resolve()
                if target == folder or folder in target.parents:
                    return str(target)
        return str(pathlib.Path("/nonexistent") / "not-served")

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002 (Python's name)
        if not self.quiet:
            super().log_message(format, *args)


@contextlib.contextmanager
def serve(mounts, port=0, quiet=True):
    """Serves `mounts` (`{"/url/prefix/": folder}`) on 127.0.0.1 while
    the `with` block runs; yields the base URL, `http://127.0.0.1:PORT`.

    `port=0` takes a free port. Each folder must exist.

    Example:

    >>> import pathlib, tempfile, urllib.request
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "model.wasm").write_bytes(b"\\0asm")
    >>> with serve({"/files/": folder}) as base:
    ...     reply = urllib.request.urlopen(base + "/files/model.wasm")
    ...     reply.headers["Content-Type"], reply.read()
    ('application/wasm', b'\\x00asm')
    """
    resolved = {}
    for prefix, folder in mounts.items():
        folder = pathlib.Path(folder).resolve()
        if not folder.is_dir():
            raise FileNotFoundError(
                f"Cannot serve {prefix!r} from {folder}: no such folder."
            )
        resolved["/" + prefix.strip("/") + "/" if prefix != "/" else "/"] = (
            folder
        )
    handler = functools.partial(_Handler, mounts=resolved, quiet=quiet)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


__all__ = ["CONTENT_TYPES", "serve"]
