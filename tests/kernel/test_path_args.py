"""Checked path parameters (``path_args``): a bad value is a 400 naming the parameter and
``/openapi.json`` documents its rule, for a type whose validator is built once per process and
shared by every app (each parametrised run below makes a new app in the same process), and for
a type that cannot be hashed and so is built for each route."""

from __future__ import annotations

import pytest

from tests.fixtures.plugins import labelled


@pytest.mark.parametrize("run", [1, 2])
@pytest.mark.parametrize("path", ["/api/v1/words", "/api/v1/loose-words"])
async def test_a_path_parameter_is_checked_and_documented_in_every_app(app_factory, path, run):
    server = await app_factory(plugins="labelled", extra_plugins={"labelled": labelled})
    ok = await server.client.get(f"{path}/hello")
    assert ok.status_code == 200 and await ok.get_json() == {"word": "hello"}
    bad = await server.client.get(f"{path}/Hello1")
    body = await bad.get_json()
    assert bad.status_code == 400 and body["error"] == "bad request", body
    assert body["fields"][0]["field"] == "word", body
    document = await (await server.client.get("/openapi.json")).get_json()
    parameter = document["paths"][f"{path}/{{word}}"]["get"]["parameters"][0]
    assert parameter["name"] == "word" and parameter["schema"]["pattern"] == "^[a-z]{1,8}$", parameter
