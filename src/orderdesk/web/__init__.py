"""H5 pages (`/m/...`): server-rendered screens for every role, opened in WeCom's browser.

Views are thin: they call the same domain services as the mini-app API and the bot. The
blueprint carries its own signed cookie (web/auth.py), so the app keeps no Flask SECRET_KEY
and the callbacks pay nothing for it.

Extension point: a new screen is a `views_<topic>.py` module that adds routes to `bp` and is
imported in `_load_views()`; its nav entry goes in templates/web/base.html.
"""

from __future__ import annotations

import importlib

from flask import Blueprint, Response

bp = Blueprint(
    "web",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/m/static",
)

# No inline script or style anywhere: everything loads from our own server (WeCom's browser in
# China cannot reach a CDN), and nothing may frame the pages.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self' https://open.weixin.qq.com "
    "https://login.work.weixin.qq.com; frame-ancestors 'none'"
)


@bp.after_request
def _security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
    return response


def _load_views() -> None:
    # filters and the views import `bp` from this package: they load once it exists.
    from orderdesk.web import filters

    filters.install(bp)
    from orderdesk.web import (  # noqa: F401  (routes register on import)
        views_approvals,
        views_auth,
        views_changes,  # issue 15: change requests on the order page
        views_contract_new,
        views_contracts,
        views_customers,
        views_deliverables,  # issue 15: deliverable versions, client sign-off
        views_finance,
        views_home,
        views_imports,  # issue 13: imports
        views_opportunities,
        views_order_new,
        views_orders,
        views_reports,
        views_sim,
        views_tickets,  # issue 15: after-sales tickets
    )

    # webadmin: admin pages, delegation, order custom fields
    importlib.import_module("orderdesk.web.views_admin")
    importlib.import_module("orderdesk.web.views_admin_staff")
    importlib.import_module("orderdesk.web.views_delegation")
    importlib.import_module("orderdesk.web.views_order_fields")


_load_views()
