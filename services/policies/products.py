"""Who may see and change the product catalog: operators browse it (`node(id:)` too), admins add
to it; a product named by an order item is shown to whoever may see the order
(services/policies/orders.py)."""
from __future__ import annotations

from collections.abc import Iterable

from tortoise.queryset import QuerySet

from models import Product
from services.identity.viewer import Viewer, require_admin, require_operator
from services.policies.conditions import EVERYTHING, Condition, apply


def listed(viewer: Viewer) -> Condition:
    """The catalog: every product, for an operator."""
    require_operator(viewer)
    return EVERYTHING


def catalog(viewer: Viewer) -> QuerySet[Product]:
    return apply(Product.all(), listed(viewer))


def named(viewer: Viewer) -> Condition:
    """The products an order item the viewer reads names: every one."""
    return EVERYTHING


def named_products(viewer: Viewer, ids: Iterable[int]) -> QuerySet[Product]:
    return apply(Product.filter(id__in=list(ids)), named(viewer))


def can_read(viewer: Viewer, product: Product | None) -> bool:
    """`node(id:)` of a product: operators only."""
    return product is not None and viewer.is_operator


def ensure_may_manage(viewer: Viewer) -> int:
    """Adding products: admins."""
    return require_admin(viewer)
