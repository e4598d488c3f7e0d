"""The web app of ``publisher serve`` (Starlette, served by uvicorn): every page in French,
usable without JavaScript.

| path | what |
| --- | --- |
| ``/`` | home: the newsletters and feeds |
| ``/feeds/…`` | the generated feeds, OPML and index page (ETag, 304) |
| ``/subscribe`` | sign-up form → pending subscriber + confirmation email |
| ``/confirm/<token>`` | double opt-in confirmation |
| ``/preferences/<token>`` | interests, pause, leave |
| ``/unsubscribe/<token>`` | one-button page; RFC 8058 one-click POST |
| ``/archive/``, ``/archive/<id or newsletter>`` | web versions of sent editions (public archives) |
| ``/archive/<id>/<token>`` | the view-online link of an edition, public or not |
| ``/r/<edition>/<article>/<signature>`` | an article link: counts a click, 302 to the article (``clicks``) |
| ``/webhooks/sendgrid`` | SendGrid Event Webhook |
| ``/healthz`` | liveness and store check |
| ``/admin/`` | staff dashboard (basic auth) |
| ``/admin/newsletters/<slug>``, ``/admin/editions/<id>``, ``/admin/readers`` | figures, charts (``admin_figures``) |

``access_log`` is the access log ``publisher serve`` wraps around the app (combined format,
tokens redacted).
"""

from publisher.web.app import create_app

__all__ = ["create_app"]
