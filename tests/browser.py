"""Headless Chromium for the tests that run exported files in a web page.

The web tests (tests/web/) load MediaPipe's web Tasks and LiteRT.js from
the pinned npm packages (keras_attn/apps/web/package.json, installed by
`.ci/run` into `.web/node_modules`), serve them and the exported files
with `keras_attn.apps.web_server.serve`, and drive Debian's Chromium
through Playwright's sync API. Nothing leaves the machine: every request
to anything but the local server is aborted and recorded (MediaPipe posts
usage logs to a Google endpoint; the tests count those), and Chromium's
host resolver maps every other name to nothing besides.

Usage, in a test module under tests/web/ (the module-scoped `browser`
fixture of tests/conftest.py skips, saying why, where Chromium,
Playwright or the npm packages are missing):

    def test_it_runs(browser, tmp_path):
        page = browser.open({"/models/": tmp_path})
        result = page.evaluate(
            '''async () => {
                const {TextClassifier, FilesetResolver} = await import(
                    "/node_modules/@mediapipe/tasks-text/text_bundle.mjs");
                ...
            }'''
        )
        assert page.blocked == [], page.blocked

`open(mounts)` serves `mounts` (`{"/url/prefix/": folder}`) with
`/node_modules/` always mounted on `NODE_MODULES` (the environment
variable KERAS_ATTN_NODE_MODULES overrides it) and an empty page at `/`
unless `mounts` has one (it holds an import map, so that
`import("@litertjs/core")` works), and returns a Playwright `Page` on that
page with four more attributes: `base` (the server's URL), `requests`
(the URLs of every request the page and its workers made, in order),
`blocked` (those that were aborted, in order) and `console` (the
page's and its workers' console lines as "type: text", page errors as
"pageerror: ..."; MediaPipe's delegate messages land there). Its default
timeout is `TIMEOUT_MS`. The servers and pages live until
`Browser.close()`; the `browser()` context manager closes it for you.

A module that needs only some packages asks for them
(`need("@litertjs/core")`) before opening a page; `missing()` returns
the reason as a string, or None.
"""

import contextlib
import json
import os
import pathlib
import tempfile

import pytest

REPOSITORY = pathlib.Path(__file__).resolve().parent.parent
NODE_MODULES = pathlib.Path(
    os.environ.get(
        "KERAS_ATTN_NODE_MODULES", REPOSITORY / ".web" / "node_modules"
    )
)
CHROMIUM = "/usr/bin/chromium"
# The npm packages the web tests load (keras_attn/apps/web/package.json).
PACKAGES = (
    "@mediapipe/tasks-text",
    "@mediapipe/tasks-vision",
    "@mediapipe/tasks-audio",
    "@litertjs/core",
)
LAUNCH_ARGS = [
    "--no-sandbox",
    # WebGL and WebGPU on the CPU (SwiftShader) where there is no GPU.
    "--enable-unsafe-swiftshader",
    "--use-angle=swiftshader",
    "--ignore-gpu-blocklist",
    "--enable-unsafe-webgpu",
    # No traffic of Chromium's own.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Every name but the loopback address resolves to nothing, so a
    # request the page's routing missed still cannot leave.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
TIMEOUT_MS = 60_000
# Where MediaPipe's web Tasks post their usage logs (a protobuf, on a
# task's close() and every 60 s): the one URL in the bundles of
# @mediapipe/tasks-text 1.0.1, tasks-vision 1.1.0 and tasks-audio 1.0.1
# (line 1 of each *_bundle.mjs). The tests see them aborted.
MEDIAPIPE_USAGE_LOG = "https://odml.pa.googleapis.com/v1/log"
# The page at `/` unless the mounts give one: an import map, because
# LiteRT.js's module imports its helper package by its bare npm name.
IMPORT_MAP = {
    "imports": {
        "@litertjs/core": "/node_modules/@litertjs/core/dist/index.js",
        "@litertjs/wasm-utils": (
            "/node_modules/@litertjs/wasm-utils/dist/index.js"
        ),
    }
}
EMPTY_PAGE = (
    "<!doctype html><meta charset='utf-8'><title>keras-attn tests</title>\n"
    f"<script type='importmap'>{json.dumps(IMPORT_MAP)}</script>\n"
)


def missing(*packages):
    """Why the browser tests cannot run here, or None.

    Args:
        *packages: npm package names that must be installed under
            `NODE_MODULES`; `PACKAGES` (all of them) when none are given.

    Returns:
        A sentence naming what is missing, or None.
    """
    if not pathlib.Path(CHROMIUM).is_file():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install '.[test]')"
    absent = [
        name
        for name in packages or PACKAGES
        if not (NODE_MODULES / name / "package.json").is_file()
    ]
    if absent:
        return (
            f"npm packages {', '.join(absent)} are not installed in "
            f"{NODE_MODULES} (npm ci --prefix .web, see .ci/run)"
        )
    return None


def need(*packages):
    """Skips the calling test (or module) when `missing(*packages)` gives
    a reason, saying it."""
    reason = missing(*packages)
    if reason:
        pytest.skip(f"The browser tests cannot run here: {reason}")


class Browser:
    """One headless Chromium; `open` gives pages on local servers.

    Args:
        args: Chromium's command-line switches (`LAUNCH_ARGS`).
    """

    def __init__(self, args=None):
        from playwright.sync_api import sync_playwright

        self.args = list(LAUNCH_ARGS if args is None else args)
        self._stack = contextlib.ExitStack()
        try:
            playwright = self._stack.enter_context(sync_playwright())
            self.chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=self.args
            )
            self._stack.callback(self.chromium.close)
            empty = pathlib.Path(
                self._stack.enter_context(tempfile.TemporaryDirectory())
            )
            (empty / "index.html").write_text(EMPTY_PAGE, encoding="utf-8")
            self._empty = empty
        except BaseException:
            self._stack.close()
            raise

    def open(self, mounts=None, path="/"):
        """A new page at `path` on a server of `mounts`.

        Args:
            mounts: `{"/url/prefix/": folder}` to serve besides
                `/node_modules/` (and `/`, an empty page, unless given).
            path: The page to load first.

        Returns:
            A Playwright `Page` with `base`, `requests`, `blocked` and
            `console`.
        """
        from keras_attn.apps.web_server import serve

        mounts = {"/": self._empty, **(mounts or {})}
        mounts.setdefault("/node_modules/", NODE_MODULES)
        base = self._stack.enter_context(serve(mounts))
        context = self.chromium.new_context()
        self._stack.callback(context.close)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.base = base
        page.blocked = []
        page.requests = []
        page.console = []

        def route(route):
            url = route.request.url
            page.requests.append(url)
            if url == base or url.startswith(base + "/"):
                route.continue_()
            else:
                page.blocked.append(url)
                route.abort("blockedbyclient")

        context.route("**/*", route)
        # Playwright's page console events include its workers' lines.
        page.on("console", lambda m: page.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: page.console.append(f"pageerror: {e}"))
        page.goto(base + path)
        return page

    def close(self):
        """Closes every page and server, then Chromium."""
        self._stack.close()


@contextlib.contextmanager
def browser(*packages):
    """A `Browser` for a `with` block, skipping (pytest) where
    `missing(*packages)` gives a reason."""
    need(*packages)
    chromium = Browser()
    try:
        yield chromium
    finally:
        chromium.close()
