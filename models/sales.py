from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.chat import Chat
    from models.operator import Operator


class Product(Model):
    """An item of the sales catalog. Prices are exact decimals in the product's currency."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    price = fields.DecimalField(max_digits=12, decimal_places=2)
    #: ISO 4217 code, e.g. EUR
    currency = fields.CharField(max_length=3)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "product"


class Order(Model):
    """An order an operator made in a chat. Status CREATED, then PAID (by the payment webhook) or CANCELLED."""

    id = fields.IntField(primary_key=True)
    chat: fields.ForeignKeyRelation["Chat"] = fields.ForeignKeyField("models.Chat", related_name="orders", on_delete=fields.CASCADE)
    chat_id: int
    created_by: fields.ForeignKeyNullableRelation["Operator"] = fields.ForeignKeyField("models.Operator", related_name="orders", null=True, on_delete=fields.SET_NULL)
    created_by_id: int | None
    total = fields.DecimalField(max_digits=14, decimal_places=2)
    currency = fields.CharField(max_length=3)
    status = fields.CharField(max_length=16, default="CREATED", db_index=True)
    payment_url = fields.CharField(max_length=1000)
    created_at = fields.DatetimeField(auto_now_add=True)
    paid_at = fields.DatetimeField(null=True)

    class Meta:
        table = "chat_order"


class OrderItem(Model):
    """A line of an order: the product's price when ordered, times the quantity."""

    id = fields.IntField(primary_key=True)
    order: fields.ForeignKeyRelation["Order"] = fields.ForeignKeyField("models.Order", related_name="items", on_delete=fields.CASCADE)
    order_id: int
    product: fields.ForeignKeyRelation["Product"] = fields.ForeignKeyField("models.Product", related_name="order_items", on_delete=fields.RESTRICT)
    product_id: int
    quantity = fields.IntField()
    unit_price = fields.DecimalField(max_digits=12, decimal_places=2)
    amount = fields.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        table = "order_item"
