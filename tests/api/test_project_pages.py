"""/api/v1/projects/ by pages: how many there are in all, each page, the last one, a page past the
end (404)."""

import pytest

from tests.api.conftest import client_for
from tests.factories import ProjectFactory, UserFactory


@pytest.fixture
def five(db):
    """A user party to five projects, and a stranger's project they must not count."""
    user = UserFactory()
    projects = [ProjectFactory(buyer=user) for _ in range(3)] + [ProjectFactory(seller=user) for _ in range(2)]
    ProjectFactory()
    return client_for(user), {str(project.pk) for project in projects}


def test_pages_cover_every_project_once_and_say_how_many_in_all(five):
    client, mine = five
    seen = []
    url = "/api/v1/projects/?page_size=2"
    while url:
        page = client.get(url).json()
        assert page["count"] == 5
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    assert len(seen) == 5 and set(seen) == mine


def test_the_last_page_and_a_page_past_it(five):
    client, _ = five
    last = client.get("/api/v1/projects/?page_size=2&page=last")
    assert last.status_code == 200
    assert (last.json()["count"], len(last.json()["results"]), last.json()["next"]) == (5, 1, None)
    assert client.get("/api/v1/projects/?page_size=2&page=3").json() == last.json()
    past = client.get("/api/v1/projects/?page_size=2&page=4")
    assert past.status_code == 404 and "error" in past.json()


def test_no_projects_is_an_empty_first_page_and_no_second(db):
    client = client_for(UserFactory())
    ProjectFactory()  # a stranger's
    first = client.get("/api/v1/projects/")
    assert first.status_code == 200
    assert first.json() == {"count": 0, "next": None, "previous": None, "results": []}
    assert client.get("/api/v1/projects/?page=2").status_code == 404


@pytest.mark.parametrize("page", ["0", "-1", "two", "1.5", "first"])
def test_a_page_that_is_no_page_number_is_a_400_naming_page(five, page):
    client, _ = five
    answer = client.get(f"/api/v1/projects/?page={page}")
    assert answer.status_code == 400
    assert answer.json()["error"]["fields"] == {"page": ["A page number: a whole number from 1, or last."]}
