from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.enums import ChatKind, ChatStatus, MessageAuthorKind, OperatorRole, OperatorStatus, QueueDistribution
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Client',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=200)),
                ('email', fields.CharField(null=True, max_length=254)),
                ('phone', fields.CharField(null=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'client', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A customer who writes in through an open channel.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Event',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(description='the precise change, e.g. CHAT_ANSWERED or MESSAGE_ADDED', max_length=32)),
                ('queue_kind', fields.CharField(null=True, description='QueueEventKind when the change concerns a queue (else null)', max_length=32)),
                ('chat_kind', fields.CharField(null=True, description='ChatEventKind when the change concerns a chat, else null', max_length=32)),
                ('chat_id', fields.IntField(null=True, db_index=True)),
                ('open_channel_id', fields.IntField(null=True, db_index=True)),
                ('message_id', fields.IntField(null=True)),
                ('operator_ids', fields.JSONField(default=list, description='operators whose own chat list this changes (offered, responsible, participants, before and after)', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('visitor_visible', fields.BooleanField(default=True, description='false for silent notes: never streamed to a visitor or a connector')),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'event', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A change, written in the transaction that makes it. Its id orders all events.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OpenChannel',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=200)),
                ('distribution', fields.CharEnumField(default=QueueDistribution.EVENLY, description='EVENLY: EVENLY\nSTRICT: STRICT\nALL: ALL', enum_type=QueueDistribution, max_length=16)),
                ('answer_timeout_seconds', fields.IntField(default=60)),
                ('auto_close_after_seconds', fields.IntField(default=86400)),
                ('rating_enabled', fields.BooleanField(default=True)),
                ('welcome_message', fields.TextField(null=True, unique=False)),
                ('max_chats_per_operator', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'open_channel', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A queue of operators that client conversations land in.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Operator',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=200)),
                ('email', fields.CharField(unique=True, max_length=254)),
                ('role', fields.CharEnumField(default=OperatorRole.OPERATOR, description='OPERATOR: OPERATOR\nSUPERVISOR: SUPERVISOR\nADMIN: ADMIN', enum_type=OperatorRole, max_length=16)),
                ('status', fields.CharEnumField(default=OperatorStatus.OFFLINE, description='ONLINE: ONLINE\nAWAY: AWAY\nOFFLINE: OFFLINE', enum_type=OperatorStatus, max_length=16)),
                ('password_hash', fields.CharField(null=True, description='scrypt hash ("scrypt$n$r$p$salt$hash"), or null: this operator signs in by API token only.', max_length=255)),
                ('show_open_channels_separately', fields.BooleanField(default=True)),
                ('group_waiting_first_response', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'operator', 'app': 'models', 'pk_attr': 'id', 'table_description': 'An employee on the operator side: operator, supervisor or admin.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ApiToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('operator', fields.ForeignKeyField('models.Operator', source_field='operator_id', db_constraint=True, to_field='id', related_name='tokens', on_delete=OnDelete.CASCADE)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(null=True, description='null: never expires (tokens made by the CLI).', auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'api_token', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A bearer token of an operator. Only the SHA-256 of the token is stored.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Chat',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(default=ChatKind.CUSTOMER, description='CUSTOMER: CUSTOMER\nINTERNAL: INTERNAL', enum_type=ChatKind, max_length=16)),
                ('title', fields.CharField(max_length=255)),
                ('status', fields.CharEnumField(default=ChatStatus.QUEUED, db_index=True, description='QUEUED: QUEUED\nACTIVE: ACTIVE\nCLOSED: CLOSED\nSPAM: SPAM', enum_type=ChatStatus, max_length=16)),
                ('open_channel', fields.ForeignKeyField('models.OpenChannel', source_field='open_channel_id', null=True, db_constraint=True, to_field='id', related_name='chats', on_delete=OnDelete.SET_NULL)),
                ('client', fields.ForeignKeyField('models.Client', source_field='client_id', null=True, db_constraint=True, to_field='id', related_name='chats', on_delete=OnDelete.SET_NULL)),
                ('operator', fields.ForeignKeyField('models.Operator', source_field='operator_id', null=True, description='the operator responsible for the chat (set while ACTIVE, kept after it is closed)', db_constraint=True, to_field='id', related_name='responsible_chats', on_delete=OnDelete.SET_NULL)),
                ('pinned', fields.BooleanField(default=False)),
                ('parent_chat', fields.ForeignKeyField('models.Chat', source_field='parent_chat_id', null=True, db_constraint=True, to_field='id', related_name='child_chats', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('answered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('first_response_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('auto_close_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_activity_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'chat', 'app': 'models', 'indexes': [Index(fields=['open_channel_id', 'status']), Index(fields=['operator_id', 'status'])], 'pk_attr': 'id', 'table_description': 'A conversation. Its status moves only through services/chats/chat_states.py.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ChatOffer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('chat', fields.ForeignKeyField('models.Chat', source_field='chat_id', db_constraint=True, to_field='id', related_name='offers', on_delete=OnDelete.CASCADE)),
                ('operator', fields.ForeignKeyField('models.Operator', source_field='operator_id', db_constraint=True, to_field='id', related_name='offers', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'chat_offer', 'app': 'models', 'unique_together': (('chat', 'operator'),), 'pk_attr': 'id', 'table_description': 'A queued chat is currently offered to this operator.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ChatParticipant',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('chat', fields.ForeignKeyField('models.Chat', source_field='chat_id', db_constraint=True, to_field='id', related_name='participants', on_delete=OnDelete.CASCADE)),
                ('operator', fields.ForeignKeyField('models.Operator', source_field='operator_id', db_constraint=True, to_field='id', related_name='participations', on_delete=OnDelete.CASCADE)),
                ('added_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'chat_participant', 'app': 'models', 'unique_together': (('chat', 'operator'),), 'pk_attr': 'id', 'table_description': "An operator on the chat's operator side: the responsible one or an added colleague."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ChatSkip',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('chat', fields.ForeignKeyField('models.Chat', source_field='chat_id', db_constraint=True, to_field='id', related_name='skips', on_delete=OnDelete.CASCADE)),
                ('operator', fields.ForeignKeyField('models.Operator', source_field='operator_id', db_constraint=True, to_field='id', related_name='skips', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'chat_skip', 'app': 'models', 'unique_together': (('chat', 'operator'),), 'pk_attr': 'id', 'table_description': 'This operator skipped this chat while it was queued: it is not offered to them again there.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Message',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('chat', fields.ForeignKeyField('models.Chat', source_field='chat_id', db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.CASCADE)),
                ('author_kind', fields.CharEnumField(description='CLIENT: CLIENT\nOPERATOR: OPERATOR\nSYSTEM: SYSTEM', enum_type=MessageAuthorKind, max_length=16)),
                ('author', fields.ForeignKeyField('models.Operator', source_field='author_id', null=True, db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.SET_NULL)),
                ('text', fields.TextField(unique=False)),
                ('silent', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('edited_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('deleted', fields.BooleanField(default=False)),
            ],
            options={'table': 'message', 'app': 'models', 'indexes': [Index(fields=['chat_id', 'id'])], 'pk_attr': 'id', 'table_description': 'A message in a chat. Silent messages are operator notes: never shown to the client.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='QueueMember',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('open_channel', fields.ForeignKeyField('models.OpenChannel', source_field='open_channel_id', db_constraint=True, to_field='id', related_name='members', on_delete=OnDelete.CASCADE)),
                ('operator', fields.ForeignKeyField('models.Operator', source_field='operator_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField(description='0-based order in the queue (STRICT offers to the lowest position first).')),
                ('last_offered_at', fields.DatetimeField(null=True, description='when this member was last offered a chat of this channel (EVENLY picks the oldest).', auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'queue_member', 'app': 'models', 'unique_together': (('open_channel', 'operator'),), 'pk_attr': 'id', 'table_description': "An operator's place in an open channel's queue."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReadMarker',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('chat', fields.ForeignKeyField('models.Chat', source_field='chat_id', db_constraint=True, to_field='id', related_name='read_markers', on_delete=OnDelete.CASCADE)),
                ('operator', fields.ForeignKeyField('models.Operator', source_field='operator_id', db_constraint=True, to_field='id', related_name='read_markers', on_delete=OnDelete.CASCADE)),
                ('last_read_message_id', fields.IntField(default=0)),
            ],
            options={'table': 'read_marker', 'app': 'models', 'unique_together': (('chat', 'operator'),), 'pk_attr': 'id', 'table_description': 'The last message of a chat an operator has read. Everything after it is unread for them.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='VisitorSession',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('client', fields.ForeignKeyField('models.Client', source_field='client_id', db_constraint=True, to_field='id', related_name='visitor_sessions', on_delete=OnDelete.CASCADE)),
                ('open_channel', fields.ForeignKeyField('models.OpenChannel', source_field='open_channel_id', db_constraint=True, to_field='id', related_name='visitor_sessions', on_delete=OnDelete.CASCADE)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'visitor_session', 'app': 'models', 'pk_attr': 'id', 'table_description': "A visitor's bearer token: it reaches this client's chats in this open channel only."},
            bases=['Model'],
        ),
    ]
