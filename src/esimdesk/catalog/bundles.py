"""Which suppliers a plan is ordered from, in which order, under which bundle code.

Read by fulfilment (``orders.services``): a new eSIM is ordered from ``suppliers_for(plan)``
in turn (failover moves down the list); a renewal, plan application or reissue goes to the
supplier that issued the eSIM, and a family member's eSIM to the first configured supplier,
under ``code_for(plan, supplier)``. Adapters ask ``is_bundle_code``
(through ``provisioning.receivers.bundle_code``) whether a code they were handed is a bundle
(the ES2+ adapter sends it as the profileType) or a plan's own code.
"""

from __future__ import annotations

from dataclasses import dataclass

from esimdesk.catalog.checks import configured_suppliers
from esimdesk.catalog.models import Plan, SupplierBundle


@dataclass(frozen=True)
class SupplierChoice:
    supplier: str
    code: str  # what to send the supplier as ``plan_code``
    bundle: SupplierBundle | None  # None: the plan maps no bundle, ordered under its own code


def suppliers_for(plan: Plan) -> list[SupplierChoice]:
    """The plan's active bundles on configured suppliers, lower ``priority`` first and equal
    priorities in the configured order.

    A plan with no bundle (active or not) on any configured supplier is ordered as before
    bundles existed: every configured supplier in turn, under the plan's own code. A plan
    whose bundles there are all switched off gets an empty list: staff said none of them may
    sell it, so nothing is ordered (fulfilment fails and shows up for staff).
    Uses ``plan.bundles`` as prefetched when it is.
    """
    configured = configured_suppliers()
    here = [b for b in plan.bundles.all() if b.supplier in configured]
    if not here:
        return [SupplierChoice(name, plan.code, None) for name in configured]
    active = sorted((b for b in here if b.is_active),
                    key=lambda b: (b.priority, configured.index(b.supplier)))
    return [SupplierChoice(b.supplier, b.code, b) for b in active]


def code_for(plan: Plan, supplier: str) -> str:
    """What ``supplier`` calls ``plan``: its bundle's code, switched off or not (an eSIM the
    supplier already issued can only be renewed there), else the plan's own code."""
    for bundle in plan.bundles.all():
        if bundle.supplier == supplier:
            return bundle.code
    return plan.code


def is_bundle_code(supplier: str, code: str) -> bool:
    """Whether ``code`` is a bundle mapped on ``supplier`` (switched off or not: an eSIM the
    supplier issued under it is still served under it)."""
    return SupplierBundle.objects.filter(supplier=supplier, code=code).exists()
