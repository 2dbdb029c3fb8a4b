"""The mini-app REST API (`/api/v1`): a thin JSON layer over `services/`.

Endpoints live in `views_*.py`, each declared with `registry.endpoint` (its contract: auth,
parameters, body, responses, errors); `registry.install` turns the declarations into routes and
`openapi.py` into the OpenAPI document, so code and documentation cannot drift apart.
"""

from __future__ import annotations

from flask import Blueprint
from flask.blueprints import BlueprintSetupState

from orderdesk.miniapp_api import errors, registry

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Importing the view modules registers their endpoints (order = order in the document).
from orderdesk.miniapp_api import (  # noqa: E402
    cors,
    openapi,  # noqa: F401
    views_approvals,  # noqa: F401
    views_auth,  # noqa: F401
    views_changes,  # noqa: F401  (issue 15: change requests)
    views_contracts,  # noqa: F401
    views_customers,  # noqa: F401
    views_deliverables,  # noqa: F401  (issue 15: deliverable versions, client sign-off)
    views_delivery,  # noqa: F401  (issue 15: client status links)
    views_expenses,  # noqa: F401  (issue 13: project expenses)
    views_files,  # noqa: F401  (issue 12: attachments)
    views_imports,  # noqa: F401  (issue 13: imports)
    views_opportunities,  # noqa: F401
    views_orders,  # noqa: F401
    views_payments,  # noqa: F401
    views_projects,  # noqa: F401
    views_reports,  # noqa: F401  (issue 13)
    views_tickets,  # noqa: F401  (issue 15: after-sales tickets)
)

registry.install(bp)
errors.register(bp)
cors.register(bp)


@bp.record
def _on_register(state: BlueprintSetupState) -> None:
    registry.on_app(state.app.extensions["orderdesk"])
