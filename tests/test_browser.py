"""The committed notebook shows every figure and animation in a real browser.

The notebook is exported with ``jupyter nbconvert --to html`` (nbconvert's
``HTMLExporter``, the same code) and opened in headless Chromium twice: once
to count the ``<img>`` elements the browser decoded, once as a contact sheet
of all of them, whose screenshot must show something drawn in every cell.
The screenshots are kept in ``$AELIB_SCREENSHOTS`` when that is set, to be
looked at.

Chromium comes from the system (Debian: ``apt-get install chromium``); `.ci/run`
installs it. Without it the tests are skipped, except under CI, where they fail.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

nbformat = pytest.importorskip("nbformat")
nbconvert = pytest.importorskip("nbconvert")
PIL_Image = pytest.importorskip("PIL.Image")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "autoencoders.ipynb"
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
if CHROMIUM is None and os.environ.get("CI"):
    raise RuntimeError("CI needs Chromium for the browser tests (apt-get install chromium)")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")

CELL = (240, 170)  # contact-sheet cell, CSS pixels: width, height
COLUMNS = 5
#: after the page has loaded: how many images, how many the browser could not decode
COUNT_SCRIPT = """<script>
window.addEventListener("load", () => {
  const images = [...document.images];
  const broken = images.filter(i => !(i.complete && i.naturalWidth > 0));
  document.title = `images ${images.length} broken ${broken.length}`;
});
</script>"""
#: replaces the page by a grid of its images, each in a fixed cell on white
SHEET_SCRIPT = f"""<script>
window.addEventListener("load", () => {{
  const images = [...document.images].map(i => i.src);
  document.body.innerHTML = "";
  document.body.style.cssText = "margin:0;background:#fff";
  const grid = document.createElement("div");
  grid.style.cssText = "display:grid;grid-template-columns:repeat({COLUMNS},{CELL[0]}px);" +
                       "grid-auto-rows:{CELL[1]}px;gap:0";
  for (const src of images) {{
    const img = document.createElement("img");
    img.src = src;
    img.style.cssText = "width:{CELL[0] - 10}px;height:{CELL[1] - 10}px;object-fit:contain;margin:5px";
    grid.appendChild(img);
  }}
  document.body.appendChild(grid);
}});
</script>"""


def _image_outputs(nb) -> int:
    return sum(1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
               if any(m.startswith("image/") for m in o.get("data", {})))


def _chromium(*args: str, tmp: Path) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--hide-scrollbars", f"--user-data-dir={tmp / 'profile'}",
           "--virtual-time-budget=10000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The notebook as ``jupyter nbconvert --to html`` writes it, and its image count."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    expected = _image_outputs(nb)
    if expected == 0:
        pytest.skip("the committed notebook has no outputs")
    html, _ = nbconvert.HTMLExporter().from_notebook_node(nb)
    return tmp_path_factory.mktemp("browser"), html, expected


def _page(tmp: Path, html: str, script: str, name: str) -> Path:
    assert "</body>" in html
    path = tmp / name
    path.write_text(html.replace("</body>", script + "</body>", 1), encoding="utf-8")
    return path


def _keep(path: Path) -> None:
    folder = os.environ.get("AELIB_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(folder) / path.name)


def test_every_image_output_is_an_img_the_browser_decodes(exported):
    tmp, html, expected = exported
    page = _page(tmp, html, COUNT_SCRIPT, "notebook.html")
    dom = _chromium("--dump-dom", page.as_uri(), tmp=tmp).stdout
    title = re.search(r"<title>images (\d+) broken (\d+)</title>", dom)
    assert title, "the page did not finish loading in Chromium"
    shown, broken = map(int, title.groups())
    assert shown == expected, f"{expected} image outputs, {shown} <img> elements in the export"
    assert broken == 0, f"Chromium could not show {broken} of the {shown} images"
    # the animations reach the browser as GIFs, not as text
    gifs = [m for m in re.findall(r'src="data:image/\w+;base64,([^"]{0,16})', html)
            if base64.b64decode(m[:12] + "=" * (-len(m[:12]) % 4)).startswith(b"GIF8")]
    assert len(gifs) >= 1, "no animation in the export"


def test_screenshot_shows_every_image(exported):
    tmp, html, expected = exported
    page = _page(tmp, html, SHEET_SCRIPT, "contact_sheet.html")
    rows = -(-expected // COLUMNS)
    shot = tmp / "contact_sheet.png"
    _chromium(f"--screenshot={shot}", f"--window-size={COLUMNS * CELL[0]},{rows * CELL[1]}",
              "--force-device-scale-factor=1", page.as_uri(), tmp=tmp)
    _keep(shot)
    pixels = np.asarray(PIL_Image.open(shot).convert("L"), dtype=np.float32)
    assert pixels.shape == (rows * CELL[1], COLUMNS * CELL[0])
    empty = []
    for k in range(expected):
        r, c = divmod(k, COLUMNS)
        cell = pixels[r * CELL[1] + 5:(r + 1) * CELL[1] - 5, c * CELL[0] + 5:(c + 1) * CELL[0] - 5]
        # every figure here darkens at least 5% of its cell (a plot's lines, axes and
        # labels); a broken image's icon and alt text darken under 3% (measured)
        if cell.std() < 15 or (cell < 240).mean() < 0.045:
            empty.append(k)
    assert not empty, f"the screenshot shows nothing in the cells of images {empty} (of {expected})"
    # the cells after the last image stay white: the sheet has exactly the notebook's images
    # (inside the same 5-px inset: a figure dark to its right edge, such as the decoded
    # 2-D grid, is drawn up to 3 px past its own cell by Chromium's scaling)
    for k in range(expected, rows * COLUMNS):
        r, c = divmod(k, COLUMNS)
        assert pixels[r * CELL[1] + 5:(r + 1) * CELL[1] - 5, c * CELL[0] + 5:(c + 1) * CELL[0] - 5].min() > 250


def test_screenshot_of_the_page_top(exported):
    """The page as a reader first sees it: title, text and the first figures."""
    tmp, html, _ = exported
    page = _page(tmp, html, "", "page.html")
    shot = tmp / "page_top.png"
    _chromium(f"--screenshot={shot}", "--window-size=1100,4000", "--force-device-scale-factor=1",
              page.as_uri(), tmp=tmp)
    _keep(shot)
    pixels = np.asarray(PIL_Image.open(shot).convert("L"))
    assert pixels.shape == (4000, 1100)
    assert (pixels < 100).mean() > 0.005  # text and figures drawn, not a blank page
