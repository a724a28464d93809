"""The OpenAPI schema and its Swagger UI, which must work on the city's closed network."""

import re
from html.parser import HTMLParser

import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient


@pytest.fixture
def api(db):
    return APIClient()


class AssetCollector(HTMLParser):
    """Collects the URLs a page loads: scripts, stylesheets, icons; and inline scripts."""

    def __init__(self):
        super().__init__()
        self.urls = []
        self.inline_scripts = 0
        self._in_script_without_src = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            if attrs.get("src"):
                self.urls.append(attrs["src"])
            else:
                self._in_script_without_src = True
        elif tag == "link" and attrs.get("href"):
            self.urls.append(attrs["href"])
        elif tag == "img" and attrs.get("src"):
            self.urls.append(attrs["src"])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script_without_src = False

    def handle_data(self, data):
        if self._in_script_without_src and data.strip():
            self.inline_scripts += 1


def assets(response):
    collector = AssetCollector()
    collector.feed(response.content.decode())
    return collector


def test_the_schema_renders_as_openapi(api):
    response = api.get("/api/schema/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "isms API"


def test_the_schema_describes_every_endpoint(api):
    paths = yaml.safe_load(api.get("/api/schema/").content)["paths"]
    for path in [
        "/api/auth/token/",
        "/api/me/",
        "/api/departments/",
        "/api/policies/",
        "/api/policies/{id}/",
        "/api/revisions/",
        "/api/revisions/{id}/",
        "/api/revisions/{id}/submit/",
        "/api/revisions/{id}/approve/",
        "/api/revisions/{id}/return/",
        "/api/revisions/{id}/publish/",
        "/api/revisions/{id}/diff/",
        "/api/acknowledgements/",
        "/api/acknowledgements/pending/",
        "/api/acknowledgements/status/",
    ]:
        assert path in paths, path
    diff_parameters = {p["name"] for p in paths["/api/revisions/{id}/diff/"]["get"]["parameters"]}
    assert "against" in diff_parameters
    status_parameters = paths["/api/acknowledgements/status/"]["get"]["parameters"]
    assert [(p["name"], p["required"]) for p in status_parameters] == [("revision", True)]


def test_the_schema_generates_without_warnings_and_validates(tmp_path, db):
    # --fail-on-warn turns every drf-spectacular warning (an unguessable type, a missing
    # serializer) into a failure; --validate checks the result against the OpenAPI spec.
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert yaml.safe_load(target.read_text())["paths"]


def test_the_swagger_ui_is_served_as_html(api):
    response = api.get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert 'id="swagger-ui"' in response.content.decode()


def test_the_swagger_ui_loads_nothing_from_outside_the_portal(api):
    page = assets(api.get("/api/docs/"))
    assert any("swagger-ui-bundle" in url for url in page.urls)
    external = [url for url in page.urls if re.match(r"^(https?:)?//", url)]
    assert external == []
    assert re.search(r"https?://", api.get("/api/docs/").content.decode()) is None


def test_the_swagger_ui_has_no_inline_script_so_the_csp_lets_it_run(api):
    response = api.get("/api/docs/")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert assets(response).inline_scripts == 0


def test_every_file_the_swagger_ui_loads_is_served_by_the_portal(api):
    for url in assets(api.get("/api/docs/")).urls:
        response = api.get(url)
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert body, url


def test_the_swagger_ui_points_at_the_local_schema(api):
    page = assets(api.get("/api/docs/"))
    init_script = next(url for url in page.urls if url.startswith("/api/docs/"))
    script = api.get(init_script).content.decode()
    assert '"/api/schema/"' in script
    assert re.search(r"https?://", script) is None
