"""The request locale for web pages: the API's, plus the country chosen on the page.

A country chosen in the notice or on the help page (``?country=XX``, then remembered in a
cookie) is used as an explicit country, so every notice, the help page and the results list
that country's services. Only countries the resources file knows are taken.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.deps import CatalogDep, LocaleDep
from app.services.locale import RequestLocale
from app.web.security import countries_asked


def get_web_locale(request: Request, base: LocaleDep, catalog: CatalogDep) -> RequestLocale:
    for country in countries_asked(request):
        if catalog.crisis.knows(country):
            return base.with_explicit(country, None)
    return base


WebLocaleDep = Annotated[RequestLocale, Depends(get_web_locale)]
