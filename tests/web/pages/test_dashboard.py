"""The dashboard: the study report of the user's centres, live, with the per-centre
breakdown; kept until the next write. Over the timeline tests' registry (the populated
registry with one demo child imported into A and one into B)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from srnskit.registry import store
from srnskit.registry.access import Actor
from srnskit.web.pages import dashboard
from srnskit.web.pages.common import PAGE_CSP
from tests.registry.api.conftest import USERS, patient_id
from tests.web.pages import test_timeline
from tests.web.pages.conftest import Pages

OTHER = test_timeline.OTHER
# The timeline tests' registry and pages (the module-scoped registry is built once per module).
with_demo = test_timeline.with_demo
demo_pages = test_timeline.demo_pages
# Each centre holds one patient per user and patient set (tests/registry/api/conftest.py) and
# one demo child: A has 5 users × 3 sets + SYN0000002 = 16 children, so has B.
PER_CENTRE = len(USERS) * 3 + 1


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    dashboard.clear_cache()
    yield
    dashboard.clear_cache()


def _cells(html: str, table: str) -> list[list[str]]:
    body = html.split(f'id="table-{table}"', 1)[1].split("</table>", 1)[0]
    return [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)
            for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)]  # fmt: skip


def test_the_dashboard_counts_only_the_users_centres(demo_pages: Pages) -> None:
    demo_pages.login("investigator")  # centre A
    answer = demo_pages.client.get("/dashboard?definitions=kdigo2021")
    assert answer.status_code == 200
    assert answer.headers["content-security-policy"] == PAGE_CSP
    html = answer.text
    flow = _cells(html, "flow")
    assert flow[1][:3] == ["Children in the cohort", "", str(PER_CENTRE)]
    assert "flow_by_center" not in html  # one centre: no breakdown
    assert OTHER not in html
    assert "Centre B" not in html
    assert 'select name="definitions"' in html


def test_the_network_sees_both_centres_side_by_side(demo_pages: Pages) -> None:
    demo_pages.login("network")
    html = demo_pages.client.get("/dashboard").text
    by_center = _cells(html, "flow_by_center")
    assert by_center[0] == ["Step", "All centres", "Centre A", "Centre B"]
    # 16 children in each centre: 32 in all
    assert by_center[1] == ["Children in the cohort", str(2 * PER_CENTRE), *[str(PER_CENTRE)] * 2]
    assert 'id="table-table1_by_center"' in html


@pytest.mark.slow
def test_a_reload_is_kept_and_a_write_builds_again(demo_pages: Pages) -> None:
    demo_pages.login("investigator")
    first = demo_pages.client.get("/dashboard").text
    seconds = float(re.search(r"computed in ([\d.]+) s", first).group(1))  # type: ignore[union-attr]
    again = demo_pages.client.get("/dashboard").text
    # the kept report: the same build (its time said again), shown at once
    assert f"computed in {seconds:.1f} s" in again
    shown = float(re.search(r"shown in ([\d.]+) s", again).group(1))  # type: ignore[union-attr]
    assert shown < 0.5
    with demo_pages.registry.session() as session:  # a write anywhere: a new audit entry
        store.delete_patient(session, Actor.system(), patient_id("A", "viewer", "del"))
        session.commit()
    after = demo_pages.client.get("/dashboard").text
    assert _cells(after, "flow")[1][2] == str(PER_CENTRE - 1)


def test_roles_and_sessions(demo_pages: Pages) -> None:
    assert demo_pages.client.get("/dashboard").status_code == 303  # no session
    demo_pages.login("data_entry")  # may not report (registry.md §2)
    answer = demo_pages.client.get("/dashboard")
    assert answer.status_code == 403
    demo_pages.login("viewer")
    assert demo_pages.client.get("/dashboard").status_code == 403


def test_an_unknown_set_is_refused(demo_pages: Pages) -> None:
    demo_pages.login("investigator")
    answer = demo_pages.client.get("/dashboard?definitions=mine")
    assert answer.status_code == 422
    assert "choose" in answer.text
