"""/healthz: what docker and the load balancer poll. Cheap, and reachable over plain HTTP."""

from django.urls import reverse


def test_healthz_answers_without_touching_the_database(client):
    # No db fixture: pytest-django makes any query fail this test.
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Content-Type"].startswith("text/plain")
    assert "Set-Cookie" not in response


def test_healthz_is_not_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/policy/").status_code == 301
