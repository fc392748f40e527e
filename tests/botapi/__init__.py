"""A local Telegram Bot API server for end-to-end tests (see server.BotAPIServer)."""

from .errors import ApiError
from .model import Call, CallbackAnswer, Chat, ChatAction, ServedFault, User, WebhookDelivery
from .server import DEFAULT_TOKEN, BotAPIServer

__all__ = [
    "DEFAULT_TOKEN", "ApiError", "BotAPIServer", "Call", "CallbackAnswer", "Chat", "ChatAction", "ServedFault",
    "User", "WebhookDelivery",
]
