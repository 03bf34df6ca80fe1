"""The GraphQL documents the benchmarks send (the baseline answers with the same JSON)."""

CHAT_FIELDS = "id title client { name } operator { name } lastMessage { text } unreadCount"

#: B1 and B6: the operator's sidebar, as a console polls it
MY_CHATS = f"{{ myChats {{ waitingFirstResponse {{ {CHAT_FIELDS} }} active {{ {CHAT_FIELDS} }} }} }}"


def conversations(first: int) -> str:
    """B1b and B6: one page of the conversations list, newest first."""
    return f"{{ conversations(first: {first}) {{ edges {{ node {{ {CHAT_FIELDS} }} }} }} }}"


CONVERSATIONS = conversations(50)
