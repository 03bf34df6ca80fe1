"""Per-request loaders of the contact center: CRM links and records, orders and products."""
from __future__ import annotations

from typing import Any, Awaitable, Callable

from resolvers.dataloader import DataLoader

from services.contact_center import crm
from services.contact_center import sales
from services.identity.viewer import Viewer


def keyed_loader(fetch: Callable[[list[int]], Awaitable[dict[int, Any]]], default: Any = None) -> DataLoader:
    """A DataLoader over a batch function that answers {key: value}; a missing key gets `default`
    (or `default()` when it is callable, e.g. `list`)."""

    async def load(keys: list[int]) -> list[Any]:
        found = await fetch(list(set(keys)))
        return [found.get(k, default() if callable(default) else default) for k in keys]

    return DataLoader(load)


def _for(viewer: Viewer, fetch: Callable[[Viewer, list[int]], Awaitable[dict[int, Any]]]):
    """A service's batch read for this viewer (the policy is applied there)."""
    return lambda keys: fetch(viewer, keys)


class CrmLoaders:
    def __init__(self, viewer: Viewer) -> None:
        self.link_by_client = keyed_loader(_for(viewer, crm.links_of_clients))
        self.contact = keyed_loader(_for(viewer, crm.contacts_by_id))
        self.company = keyed_loader(_for(viewer, crm.companies_by_id))
        self.deal = keyed_loader(_for(viewer, crm.deals_by_id))
        self.lead = keyed_loader(_for(viewer, crm.leads_by_id))
        self.contacts_of_company = keyed_loader(_for(viewer, crm.contacts_of_companies), list)
        self.deals_of_contact = keyed_loader(_for(viewer, crm.deals_of_contacts), list)


class SalesLoaders:
    def __init__(self, viewer: Viewer) -> None:
        self.orders_of_chat = keyed_loader(_for(viewer, sales.orders_of_chats), list)
        self.items_of_order = keyed_loader(_for(viewer, sales.items_of_orders), list)
        self.product = keyed_loader(_for(viewer, sales.products_by_id))
