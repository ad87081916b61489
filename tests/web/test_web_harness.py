"""tests/browser.py keeps its promise: a page's requests to anything but
its local server, from the page, a worker or a beacon, are aborted and
recorded, and the page's and its workers' console lines are kept."""

OUTSIDE = "https://example.com/"


def test_requests_beyond_the_local_server_are_aborted_and_recorded(
    browser, tmp_path
):
    (tmp_path / "worker.js").write_text(
        "console.log('worker here');"
        f"fetch('{OUTSIDE}worker').then(() => postMessage('sent'),"
        " () => postMessage('refused'));",
        encoding="utf-8",
    )
    page = browser.open({"/files/": tmp_path})
    said = page.evaluate(
        f"""async () => {{
            const said = [];
            try {{ await fetch("{OUTSIDE}page"); said.push("sent"); }}
            catch {{ said.push("refused"); }}
            said.push(navigator.sendBeacon("{OUTSIDE}beacon", "x"));
            const worker = new Worker("/files/worker.js");
            said.push(await new Promise((done) => {{
                worker.onmessage = (event) => done(event.data);
            }}));
            const local = await fetch("/files/worker.js");
            said.push(local.status);
            return said;
        }}"""
    )
    # sendBeacon only queues its request (true): wait for the router to
    # see it (up to 5 s).
    for _ in range(50):
        if len(page.blocked) >= 3:
            break
        page.wait_for_timeout(100)
    assert said == ["refused", True, "refused", 200], said
    assert sorted(page.blocked) == sorted(
        OUTSIDE + name for name in ("page", "beacon", "worker")
    ), page.blocked
    assert page.base + "/files/worker.js" in page.requests
    assert "log: worker here" in page.console, page.console
