"""GraphQL types of chats: Chat, Client, OpenChannel, Operator, Message, subscription events, and
the core's root fields."""
