"""A click that opens a page returns only once that page has loaded, for every click of the browser tests.

CI twice read a half-built page right after a plain ``click()`` (the hold journey, then the quarter's board):
Playwright's click returns when the next document is committed, before its body is parsed. Here the next page's
headers arrive at once and its body a second later, so a check right after the click sees the difference every time,
not only on a loaded machine.
"""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.browser.test_office import browser  # noqa: F401  (the module's Chromium)

pytestmark = [pytest.mark.browser, pytest.mark.services]

FIRST = b"<!doctype html><title>first</title><a id=go href=/slow>go</a><form action=/slow><button>send</button></form>"


class SlowSecondPage(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        if self.path == "/":
            self.wfile.write(FIRST)
            return
        self.wfile.write(b"<!doctype html><title>second</title>")
        self.wfile.flush()
        time.sleep(1)  # the document is committed, its rows are not there yet
        self.wfile.write(b"<table><tbody>" + b"<tr><td>row</td></tr>" * 21 + b"</tbody></table>")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def slow_site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowSecondPage)
    server.protocol_version = "HTTP/1.0"  # the body ends when the connection closes
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.mark.parametrize("how", ["page", "locator", "submit"])
def test_a_check_right_after_a_click_sees_the_whole_next_page(browser, slow_site, how):  # noqa: F811
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(slow_site + "/")
        if how == "page":
            page.click("#go")
        elif how == "locator":
            page.locator("#go").click()
        else:
            page.click("form button")
        assert page.locator("tbody tr").count() == 21
    finally:
        context.close()
