"""What the bot can help with, as one text: /help says the same on Telegram and in the terminal."""

from __future__ import annotations

from training.domain import OUT_OF_SCOPE, Domain


def help_text(domain: Domain, language: str) -> str:
    """The help phrase, every topic's title (out of scope is no topic) and the footer."""
    topics = [f"• {i.title[language]}" for name, i in sorted(domain.intents.items()) if name != OUT_OF_SCOPE]
    return "\n".join([domain.message("help", language), *topics, "", domain.message("help_footer", language)])
