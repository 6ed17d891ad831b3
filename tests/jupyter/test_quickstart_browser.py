"""The executed notebooks, exported to HTML, served on localhost and opened in Debian's headless Chromium at a normal
laptop width (1280 and 1400 px): every chart image must decode, the tables must be there, and no table may run off
the page (the samples table's last checkpoint column must be on screen). Saves a screenshot of the quickstart beside
the page (copy it to docs/quickstart.png to refresh the README's; a test run leaves tracked files alone)."""
import functools
import http.server
import json
import re
import shutil
import subprocess
import tempfile
import threading
import unittest

from common import OUT, execute

CHECK = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  var tables = Array.prototype.slice.call(document.querySelectorAll('table'));
  var right = tables.map(function (t) { return Math.ceil(t.getBoundingClientRect().right); });
  var cells = Array.prototype.slice.call(document.querySelectorAll('td'));
  var cellRight = cells.map(function (c) { return Math.ceil(c.getBoundingClientRect().right); });
  document.body.setAttribute('data-sft4j', JSON.stringify(
      {images: imgs.length, decoded: ok, tables: tables.length, width: window.innerWidth,
       tableRight: Math.max.apply(null, right.concat([0])), cellRight: Math.max.apply(null, cellRight.concat([0])),
       pageWidth: document.documentElement.scrollWidth}));
});
</script></body>"""

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--virtual-time-budget=15000"]

WIDTHS = (1280, 1400)

# notebook: (charts at least, tables at least)
NOTEBOOKS = {"01-quickstart": (3, 4), "02-instruction-tuning": (2, 3), "03-translation-sft": (2, 2),
             "05-data-debugging": (3, 3)}


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    raise unittest.SkipTest("no Chromium: `bin/sft4j test` installs Debian's chromium package")


class NotebooksInABrowser(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(OUT))
        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()

    def page(self, name):
        """The notebook's HTML export with the check script, executing the notebook first when no run left one."""
        html = OUT / f"{name}.html"
        if not html.exists():
            execute(name)
        page = html.read_text(encoding="utf-8").replace("</body>", CHECK, 1)
        (OUT / f"{name}.check.html").write_text(page, encoding="utf-8")
        return f"http://127.0.0.1:{self.server.server_address[1]}/{name}.check.html"

    def status(self, url, width):
        with tempfile.TemporaryDirectory() as profile:
            dom = subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},900",
                                  "--dump-dom", url], capture_output=True, text=True, timeout=180).stdout
        found = re.search(r"data-sft4j=\"([^\"]+)\"", dom)
        self.assertIsNotNone(found, "the page's check script ran")
        return json.loads(found.group(1).replace("&quot;", '"'))

    def test_rendered_notebooks_fit_a_laptop_screen(self):
        for name, (charts, tables) in NOTEBOOKS.items():
            url = self.page(name)
            for width in WIDTHS:
                with self.subTest(notebook=name, width=width):
                    s = self.status(url, width)
                    self.assertGreaterEqual(s["images"], charts, s)
                    self.assertEqual(s["images"], s["decoded"], f"every image decodes: {s}")
                    self.assertGreaterEqual(s["tables"], tables, s)
                    self.assertLessEqual(s["tableRight"], s["width"], f"a table runs off the page: {s}")
                    self.assertLessEqual(s["cellRight"], s["width"], f"a table cell is off screen: {s}")

    def test_quickstart_screenshot(self):
        url = self.page("01-quickstart")
        shot = OUT / "quickstart.png"
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", f"--screenshot={shot}",
                            "--window-size=1280,2600", url], capture_output=True, timeout=180, check=True)
        self.assertEqual(b"\x89PNG", shot.read_bytes()[:4])


if __name__ == "__main__":
    unittest.main()
