"""Reading the officials' dashboard in a real browser: Debian's chromium, driven by Playwright.

Shared by the browser test (campaign in-process) and the full-campaign integration test (the
real stack). The official signs in through the login page as a person would (the key pasted into
the form), the page is read from the rendered DOM, the chart image must have loaded, and a
full-page screenshot is taken at a phone's size and checked not to be blank.

No browser: ``scripts/chromium.sh install`` is tried once (it apt-installs chromium and a CJK
font, caching the .debs under ~/.cache/chunfeng); if there is still none, the test fails under
``CI=true`` and is skipped with the reason elsewhere.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image

ROOT = Path(__file__).resolve().parents[2]
PHONE = {"width": 390, "height": 844}  # a common phone's CSS viewport
STEPS = (
    "target",
    "recommended",
    "viewed",
    "interested",
    "interviewed",
    "hired",
    "stable_30d",
    "stable_90d",
    "left",
)


def chromium() -> str:
    """The browser's path, installing it once if missing; fails under CI, skips otherwise."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        subprocess.run(["bash", str(ROOT / "scripts" / "chromium.sh"), "install"], check=False, timeout=900)
        found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        reason = "no chromium: scripts/chromium.sh install could not install Debian's chromium"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return found


@dataclass
class Dashboard:
    figures: dict[str, str]  # step -> the overview's figure, as shown
    enterprises: str  # the key enterprises' section, as text
    followups: str
    circular: str
    chart_width: int  # the loaded chart's natural width (0: it did not load)
    overflow_px: int  # how far the page is wider than the phone's screen
    screenshot: bytes


def blank(png: bytes) -> bool:
    """True if the PNG is one flat colour (a failed render)."""
    pixels = image.imread(io.BytesIO(png), format="png")
    return float(np.asarray(pixels)[..., :3].std()) < 0.02


def read_dashboard(
    base_url: str, key: str, *, day: str, county: str | None = None, save: Path | None = None
) -> Dashboard:
    from playwright.sync_api import sync_playwright

    query = f"?date={day}" + (f"&county={county}" if county else "")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"], headless=True)
        try:
            page = browser.new_page(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
            page.goto(f"{base_url}/login")
            page.fill("#key", key)
            page.click("#login-submit")
            page.wait_for_url(f"{base_url}/")
            page.goto(f"{base_url}/{query}")
            page.wait_for_load_state("networkidle")
            figures = {step: page.inner_text(f"#total-{step}").strip() for step in STEPS}
            chart_width = int(page.eval_on_selector("#chart", "img => img.complete ? img.naturalWidth : 0"))
            overflow = int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))
            shot = page.screenshot(full_page=True)
            if save is not None:
                save.parent.mkdir(parents=True, exist_ok=True)
                save.write_bytes(shot)
            return Dashboard(
                figures=figures,
                enterprises=page.inner_text("#enterprises"),
                followups=page.inner_text("#followups"),
                circular=page.inner_text("#circular"),
                chart_width=chart_width,
                overflow_px=overflow,
                screenshot=shot,
            )
        finally:
            browser.close()
