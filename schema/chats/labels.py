"""Labels: the type, the inputs that define and set them, their payload."""
from __future__ import annotations

import strawberry

import models
from resolvers.ids import to_global_id
from schema.common import Node, UserError


@strawberry.type(description="A tag admins define and operators put on chats, to sort and filter conversations.")
class Label(Node):
    id: strawberry.ID
    name: str
    color: str = strawberry.field(description="#RRGGBB")

    @classmethod
    def from_model(cls, label: models.Label) -> "Label":
        return cls(id=strawberry.ID(to_global_id("Label", label.id)), name=label.name, color=label.color)


@strawberry.input(description="Admins: a new label. Its name is unique (in any case), up to 64 characters.")
class CreateLabelInput:
    name: str
    color: str = strawberry.field(description="#RRGGBB, e.g. #1E90FF.")


@strawberry.input
class SetChatLabelsInput:
    chat_id: strawberry.ID
    label_ids: list[strawberry.ID] = strawberry.field(
        description="The chat's labels become exactly these (at most 20; an empty list removes them all).")


@strawberry.type
class LabelPayload:
    label: Label | None
    user_errors: list[UserError]
