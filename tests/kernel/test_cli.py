"""`crosslink serve` as a real subprocess; /openapi.json and the offline API docs page."""

from __future__ import annotations

import re
import subprocess

import httpx
import pytest

from kernel.version import __version__
from tests.support import CROSSLINK


def test_serve_answers_health_and_stops_cleanly_on_ctrl_c(live_server_factory, repo):
    live = live_server_factory()
    assert re.match(r"http://127\.0\.0\.1:\d+$", live.url)  # loopback by default
    response = httpx.get(f"{live.url}/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__}
    assert f"WebSocket: {live.ws_url}" in live.text()
    assert live.stop() == 0  # SIGINT
    assert "crosslink serve: stopped" in live.text()
    assert "Traceback" not in live.text()
    assert (repo / ".crosslink" / "issues.db").exists()


def test_trimmed_deployment_serves_only_its_plugins(live_server_factory):
    live = live_server_factory("--plugins", "issues,locks")
    with httpx.Client(base_url=live.url) as client:
        assert client.get("/api/v1/issues").status_code == 200
        assert client.get("/api/v1/locks").status_code == 200
        missing = client.get("/api/v1/knowledge")
        assert missing.status_code == 404 and missing.json()["error"] == "not found"
    assert "Plugins:   dashboard, issues, locks, mcp" in live.text()  # the interfaces follow the selection


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "0.0.0.0"], "needs a bearer token"),
        (["--plugins", "nosuch"], "unknown plugin(s): nosuch"),
        (["--plugins", "locks"], "'locks' requires 'issues'"),
        (["--db", "mysql://localhost/x"], "unsupported database URL scheme"),
    ],
)
def test_serve_refuses_bad_setups_with_a_clear_message(repo, args, message):
    result = subprocess.run(
        [CROSSLINK, "serve", "--port", "0", "--repo", str(repo), *args], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_every_plugins_suggestion_in_a_refusal_starts(repo):
    """What the message says to type works (it once said --plugins locks,-locks)."""
    refused = subprocess.run([CROSSLINK, "serve", "--port", "0", "--repo", str(repo), "--plugins", "locks"],
                             capture_output=True, text=True, timeout=60)
    suggestions = re.findall(r"--plugins (\S+?)[,.]?(?:\s|$)", refused.stderr.split("). ", 1)[1])
    assert suggestions, refused.stderr
    for suggestion in suggestions:
        done = subprocess.run([CROSSLINK, "plugins", "--plugins", suggestion], capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, (suggestion, done.stderr)


def test_token_from_the_environment_protects_the_api(live_server_factory):
    token = "environment-token-0123456789"
    live = live_server_factory("--host", "127.0.0.1", env={"CROSSLINK_TOKEN": token})
    assert httpx.get(f"{live.url}/api/v1/issues").status_code == 401
    assert httpx.get(f"{live.url}/api/v1/issues", headers={"Authorization": f"Bearer {token}"}).status_code == 200


async def test_openapi_documents_the_enabled_plugins(server):
    spec = await (await server.client.get("/openapi.json")).get_json()
    assert spec["info"] == {"title": "crosslink-server", "version": __version__}
    paths = spec["paths"]
    assert "/api/v1/issues" in paths and "/api/v1/issues/{issue_id}" in paths
    create = paths["/api/v1/issues"]["post"]
    assert "title" in str(create["requestBody"])
    assert "/api/v1/config" in paths and "patch" in paths["/api/v1/config"]
    assert not any(path.startswith("/docs") for path in paths)


async def test_openapi_leaves_out_disabled_plugins(app_factory):
    server = await app_factory(plugins="knowledge")
    paths = (await (await server.client.get("/openapi.json")).get_json())["paths"]
    assert not any(path.startswith("/api/v1/issues") for path in paths)
    assert "/api/v1/knowledge" in paths


async def test_docs_page_uses_only_local_assets(server):
    page = await server.client.get("/docs")
    assert page.status_code == 200 and page.content_type.startswith("text/html")
    html = (await page.get_data()).decode()
    assert "/docs/docs.js" in html and "/docs/docs.css" in html
    for asset in ("/docs/docs.js", "/docs/docs.css"):
        response = await server.client.get(asset)
        assert response.status_code == 200
        text = (await response.get_data()).decode()
        assert "http://" not in text and "https://" not in text  # nothing from the internet
    assert "http://" not in html.replace('href="/openapi.json"', "") and "https://" not in html
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]


def test_serving_a_repository_leaves_git_status_clean(live_server_factory, repo):
    """The server's machine-local files (database, locks, checkouts) stay out of git status,
    through the repository's info/exclude, never through a tracked file."""
    live = live_server_factory()
    answer = httpx.post(f"{live.url}/api/v1/knowledge", json={"slug": "p", "title": "P", "content": "x\n"}, timeout=30)
    assert answer.status_code == 201
    httpx.patch(f"{live.url}/api/v1/config", json={"tracking_mode": "strict"}, timeout=30)
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=repo,
                            capture_output=True, text=True, check=True).stdout.splitlines()
    # only the shared configuration, which a team commits, shows up
    assert status == ["?? .crosslink/hook-config.json"], status
    exclude = (repo / ".git" / "info" / "exclude").read_text()
    assert "/.crosslink/issues.db" in exclude and "/.crosslink/.knowledge-cache/" in exclude
    live.stop()
    again = live_server_factory()  # a restart rewrites the block in place, never twice
    again.stop()
    assert (repo / ".git" / "info" / "exclude").read_text().count("crosslink-server: machine-local") == 1
