"""The executed quickstart, exported to HTML, served on localhost and opened in Debian's headless Chromium:
every chart image must decode and the tables must be there. Saves a screenshot beside the page (copy it to
docs/quickstart.png to refresh the README's; a test run leaves tracked files alone)."""
import functools
import http.server
import json
import re
import shutil
import subprocess
import tempfile
import threading
import unittest
from pathlib import Path

from common import OUT, execute

CHECK = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute('data-sft4j', JSON.stringify(
      {images: imgs.length, decoded: ok, tables: document.querySelectorAll('table').length}));
});
</script></body>"""

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--virtual-time-budget=15000"]


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    raise unittest.SkipTest("no Chromium: `bin/sft4j test` installs Debian's chromium package")


class QuickstartInABrowser(unittest.TestCase):

    def test_charts_decode_and_tables_render(self):
        html = OUT / "01-quickstart.html"
        if not html.exists():
            execute("01-quickstart")
        page = html.read_text(encoding="utf-8").replace("</body>", CHECK, 1)
        (OUT / "01-quickstart.check.html").write_text(page, encoding="utf-8")
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(OUT))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/01-quickstart.check.html"
        try:
            with tempfile.TemporaryDirectory() as profile:
                dom = subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
                                     capture_output=True, text=True, timeout=180).stdout
            found = re.search(r"data-sft4j=\"([^\"]+)\"", dom)
            self.assertIsNotNone(found, "the page's check script ran")
            status = json.loads(found.group(1).replace("&quot;", '"'))
            self.assertGreaterEqual(status["images"], 3, status)
            self.assertEqual(status["images"], status["decoded"], f"every image decodes: {status}")
            self.assertGreaterEqual(status["tables"], 4, status)
            shot = OUT / "quickstart.png"
            with tempfile.TemporaryDirectory() as profile:
                subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", f"--screenshot={shot}",
                                "--window-size=1280,2600", url], capture_output=True, timeout=180, check=True)
            self.assertEqual(b"\x89PNG", shot.read_bytes()[:4])
        finally:
            server.shutdown()


if __name__ == "__main__":
    unittest.main()
