def test_switching_the_language_remembers_it_for_the_persons_mail(client, people):
    client.force_login(people["staff"])
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    people["staff"].refresh_from_db()
    assert people["staff"].language == "en"
    assert client.cookies["django_language"].value == "en"


def test_an_unknown_language_changes_nothing(client, people):
    client.force_login(people["staff"])
    client.post("/i18n/setlang/", {"language": "xx", "next": "/"})
    people["staff"].refresh_from_db()
    assert people["staff"].language == "ja"


def test_anonymous_visitors_can_switch_too(client, db):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/policy/"})
    assert response.status_code == 302
    assert client.cookies["django_language"].value == "en"
