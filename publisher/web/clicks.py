"""GET and HEAD /r/EDITION/ARTICLE/SIGNATURE: a click on an article link of an edition.

One signature check (publisher.figures.clicks, no store access for a forged link) and one
counter increment, then a 302 to the article's own link. A link we did not sign, or whose
article is gone, is the site's 404 page: never a redirect anywhere else. The answer is never
cached (each click is counted) and carries no cookie.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from publisher.figures.clicks import follow_click, is_prefetch, verified_ids
from publisher.web.context import WebContext

NO_STORE = {"cache-control": "no-store", "referrer-policy": "no-referrer"}


async def click(request: Request) -> Response:
    context = WebContext.of(request)
    params = request.path_params
    ids = verified_ids(context.apps.factory.template, params["edition"], params["article"], params["signature"])
    if ids is None:
        raise HTTPException(404)
    prefetch = is_prefetch(request.method, request.headers)
    target = await context.call(follow_click, *ids, prefetch)
    if target is None:
        raise HTTPException(404)
    return RedirectResponse(target, status_code=302, headers=NO_STORE)
