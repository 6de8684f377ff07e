"""Open a page the way the browser does: through app.py's st.navigation, so st.page_link and the
sidebar work as they do for a user. `query` sets URL query parameters (a reload keeps them)."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.conftest import PROJECT_ROOT

APP = str(PROJECT_ROOT / "app.py")


def open_page(page: str, query: dict | None = None, timeout_s: float = 120) -> AppTest:
    """page: 'pages/data.py' and so on. Returns the AppTest after its first run."""
    at = AppTest.from_file(APP, default_timeout=timeout_s)
    for key, value in (query or {}).items():
        at.query_params[key] = str(value)
    if page != "pages/home.py":  # the default page; AppTest drops the sidebar's elements after a switch to it
        at.switch_page(page)
    return at.run()


def links(at: AppTest) -> list[str]:
    """The labels of the page's st.page_link elements, in order."""
    return [link.proto.label for link in at.get("page_link")]


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def away_and_back(at: AppTest, other: str, page: str) -> AppTest:
    """Open another page from the sidebar and come back to `page`: the URL's query is left behind,
    as in the browser."""
    at.query_params.clear()
    at.switch_page(other).run()
    at.query_params.clear()
    return at.switch_page(page).run()
