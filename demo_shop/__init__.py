"""A demo of the shop's side of supportbot's actions: sample orders, refunds and stock behind signed endpoints.

It is the shop's code, not the bot's: it imports nothing from bot/, training/ or storage/ and
implements docs/actions.md on its own, which is also the proof that the contract can be implemented
from that page alone. `supportbot run` starts it beside the bot; `supportbot demo-shop` alone.
"""
