#!/usr/bin/env python3
"""The HTML pages of `oci2eif serve` in a real browser: headless Chromium (Debian's) against a real
daemon on 127.0.0.1 with API tokens.

  - without credentials, or with a wrong token, the browser gets no list (the Basic challenge
    cannot be answered headless); with the read token as the Basic password (user:token@ in the
    URL) it lists the builds
  - a build held mid-pull (a registry served here that holds its layer until told) shows as
    running: a screenshot of the list and of its page, whose DOM says `running`
  - after the layer is let go and the build succeeds: a screenshot of its page, whose DOM shows
    the API's PCR0 and the artifact links, and whose copy buttons the inline script revealed (so
    the Content-Security-Policy let it run)
Screenshots go to SCREENSHOT_DIR (kept; default: pages-screenshots in the current directory),
each checked to be a PNG of the window's size.

usage: pages_e2e.py OCI2EIF_BINARY [SCREENSHOT_DIR]
Last line: "N passed, M failed".
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, summary  # noqa: E402
from fixtures import LayoutRegistry, make_kernel_bundle, make_test_images, require_tools  # noqa: E402
from ports import free_port  # noqa: E402
from serve_e2e import BUILD, READ, Daemon, write_tokens  # noqa: E402

WINDOW = (1200, 900)


class Browser:
    """Debian's chromium, headless, one fresh profile per call (nothing remembered between)."""

    def __init__(self, work):
        self.work = work
        self.calls = 0

    def run(self, args, url):
        self.calls += 1
        profile = os.path.join(self.work, "chromium-%d" % self.calls)
        cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-dev-shm-usage", "--user-data-dir=" + profile,
               "--window-size=%d,%d" % WINDOW] + args + [url]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        shutil.rmtree(profile, ignore_errors=True)
        return r

    def dom(self, url):
        """The page's DOM after its scripts ran."""
        return self.run(["--dump-dom"], url).stdout

    def screenshot(self, url, path):
        """A PNG of the page; True if it is one, of the window's size."""
        self.run(["--screenshot=" + path, "--hide-scrollbars"], url)
        try:
            with open(path, "rb") as f:
                head = f.read(24)
        except OSError:
            return False
        return head[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", head[16:24]) == WINDOW


def page_url(daemon, path, token=READ):
    """`path` on the daemon, with `token` as the Basic password (user:token@host)."""
    host = daemon.base.split("//", 1)[1]
    return "http://browser:%s@%s%s" % (token, host, path) if token else daemon.base + path


def check_pages(daemon, registry, images, browser, shots):
    status, quick, _ = daemon.request("POST", "/v1/builds", {
        "image": "oci-layout:%s/busybox:latest" % images, "labels": {"commit": "<b>1</b>"}})
    done_quick = daemon.wait(quick["id"], ("succeeded", "failed")) if status == 202 else None
    check("a first busybox build succeeds", done_quick and done_quick["state"] == "succeeded",
          done_quick)

    for what, token in (("no credentials", None), ("a wrong token", "wrong-" + READ)):
        r = browser.run(["--dump-dom"], page_url(daemon, "/", token=token))
        # Headless Chromium cannot show the password prompt the Basic challenge asks for: it
        # ends the load (a browser with a window asks, then shows the 401's sign-in page).
        check("with %s the browser gets no build list" % what,
              'href="/builds/' not in r.stdout and
              ("ERR_INVALID_AUTH_CREDENTIALS" in r.stderr or "Sign in" in r.stdout),
              (r.stdout[:400], r.stderr[-400:]))

    status, held, _ = daemon.request("POST", "/v1/builds", {
        "image": registry.host + "/busybox:latest", "labels": {"suite": "pages"}})
    check("a build from the holding registry is accepted", status == 202, held)
    if status != 202:
        return
    bid = held["id"]
    running = daemon.wait(bid, ("running",), timeout=60)
    check("it runs, held mid-pull", running is not None and registry.asked.wait(60))

    listing = browser.dom(page_url(daemon, "/"))
    check("the list shows both builds, linked, with their states",
          ('href="/builds/%s"' % bid) in listing and ('href="/builds/%s"' % quick["id"]) in listing
          and 'class="state running"' in listing and 'class="state succeeded"' in listing,
          listing[:2000])
    check("the list escapes what a client sent as a label", "commit=&lt;b&gt;1&lt;/b&gt;" in listing)
    check("screenshot: the list while a build runs",
          browser.screenshot(page_url(daemon, "/"), os.path.join(shots, "list-running.png")))

    page = browser.dom(page_url(daemon, "/builds/" + bid))
    check("the running build's page says running and reloads itself",
          'class="state running"' in page and 'http-equiv="refresh"' in page, page[:2000])
    check("screenshot: the build page while it runs",
          browser.screenshot(page_url(daemon, "/builds/" + bid),
                             os.path.join(shots, "build-running.png")))

    registry.release()
    done = daemon.wait(bid, ("succeeded", "failed", "cancelled"), timeout=120)
    check("released, the build succeeds", done and done["state"] == "succeeded", done)
    if not done or done["state"] != "succeeded":
        return
    page = browser.dom(page_url(daemon, "/builds/" + bid))
    check("its page shows the API's PCR0", ('<code id="pcr-PCR0">%s</code>' % done["pcrs"]["PCR0"])
          in page, page[:3000])
    check("its page links the artifacts",
          ('href="/v1/builds/%s/artifacts/image.eif"' % bid) in page, page[:3000])
    check("the inline script ran (the CSP allows it): the copy buttons are shown",
          'class="copy"' in page and 'hidden="">Copy' not in page and " hidden>Copy" not in page,
          page[:3000])
    check("the finished page no longer reloads", 'http-equiv="refresh"' not in page)
    check("screenshot: the build page after it succeeded",
          browser.screenshot(page_url(daemon, "/builds/" + bid),
                             os.path.join(shots, "build-succeeded.png")))
    status, _, _ = daemon.request("GET", "/", token=BUILD, raw=True)
    check("a Bearer token opens the page too (curl, scripts)", status == 200, status)


def main():
    binary = os.path.abspath(sys.argv[1])
    require_tools("pages_e2e", ("chromium",))
    work = tempfile.mkdtemp(prefix="pages-e2e-")
    shots = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else "pages-screenshots")
    os.makedirs(shots, exist_ok=True)
    daemon = registry = None
    try:
        images = make_test_images(os.path.join(work, "images"))
        kernel_dir = make_kernel_bundle(os.path.join(work, "kernel"))
        write_tokens(work)
        registry = LayoutRegistry(os.path.join(images, "busybox"), hold=True)
        daemon = Daemon(binary, work, kernel_dir, free_port())
        daemon.start()
        check_pages(daemon, registry, images, Browser(work), shots)
        print("screenshots in " + shots)
    finally:
        if daemon:
            daemon.stop()
        if registry:
            registry.close()
        shutil.rmtree(work, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
