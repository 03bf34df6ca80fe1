from __future__ import annotations

import strawberry

import models
from schema.common import Node
from schema.ids import to_global_id


@strawberry.type(description="A customer who writes in through an open channel.")
class Client(Node):
    id: strawberry.ID
    name: str
    email: str | None
    phone: str | None
    pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, client: models.Client) -> "Client":
        return cls(id=strawberry.ID(to_global_id("Client", client.id)), pk=client.id, name=client.name,
                   email=client.email, phone=client.phone)
