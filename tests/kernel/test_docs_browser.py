"""The API docs page rendered by a real browser (headless Chromium), with no internet access."""

from __future__ import annotations

import re
import shutil
import subprocess

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--virtual-time-budget=3000", "--dump-dom",
]


def rendered_dom(url: str, profile: str) -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "Chromium is needed for browser tests (make test installs it)"
    result = subprocess.run(
        [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", url],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_docs_page_renders_every_route_in_a_browser(live_server_factory, tmp_path):
    live = live_server_factory("--plugins", "all")
    import httpx

    spec = httpx.get(f"{live.url}/openapi.json").json()
    operations = sum(
        1 for methods in spec["paths"].values() for m in methods if m in ("get", "post", "put", "patch", "delete")
    )
    dom = rendered_dom(f"{live.url}/docs", str(tmp_path / "profile"))
    assert f"<p id=\"summary\">{operations} routes." in dom
    rendered = re.findall(r'<span class="path">([^<]+)</span>', dom)
    assert len(rendered) == operations
    assert "/api/v1/issues/{issue_id}" in rendered and "/api/v1/health" in rendered
    assert "Could not load" not in dom
    # component schemas are shown inline, not as bare $refs
    assert "#/components/schemas/" not in dom
