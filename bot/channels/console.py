"""Local chat in the terminal, through the same engine as Telegram (channel "console").

Suggestions are numbered; typing a number presses that button. After an answer, "+" or "-"
rates it, like the 👍/👎 buttons. /start and /help answer as the Telegram commands do (they are
not questions for the model); /cancel drops the bot's question. Reads stdin line by line, so it can
be scripted. Calls to the shop's system run on an event loop of the chat's own (`asyncio.Runner`),
with the same client, timeouts and circuit breakers as on Telegram.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import sys
from typing import TextIO

from bot.actions import ActionsClient
from bot.actions.timing import timed_call
from bot.channels.topics import help_text
from bot.fulfilment import SECRET_ENV
from bot.replies import Button, Control, Incoming, Reply
from bot.runtime import Runtime
from bot.usecases import conversation
from bot.usecases.access import Actor
from training.policy import Action

CHANNEL = "console"
RATINGS = (Control.UP, Control.DOWN)


class ConsoleChat:
    """Single-threaded, so it calls the use cases directly (no worker thread)."""

    def __init__(self, runtime: Runtime, out: TextIO = sys.stdout, user: str | None = None) -> None:
        self.runtime = runtime
        self.out = out
        self.user = user or getpass.getuser()
        self.pending: Reply | None = None  # the last reply with buttons
        self.actions = ActionsClient(runtime.config.actions, os.environ.get(SECRET_ENV))
        self.loop = asyncio.Runner()

    @property
    def choices(self) -> list[Button]:
        """The numbered buttons of the last reply (suggestions, a person), ratings aside."""
        return [b for b in self.pending.buttons if b.choice not in RATINGS] if self.pending else []

    def show(self, reply: Reply) -> None:
        if reply.call is not None:
            reply = conversation.acted(self.runtime, reply, *self.loop.run(timed_call(self.actions, reply.call)))
        print(f"bot> {reply.text}", file=self.out)
        if reply.action == Action.HANDOFF and reply.handoff_id is not None:
            print(f"  ({self.handoff_note()})", file=self.out)
        self.pending = reply if reply.buttons else None
        self.show_choices()

    def show_choices(self) -> None:
        for number, button in enumerate(self.choices, 1):
            print(f"  {number}) {button.label}", file=self.out)
        if self.pending and any(b.choice == Control.UP for b in self.pending.buttons):
            print("  (rate this answer: + or -)", file=self.out)

    def handoff_note(self) -> str:
        """What a handoff means here: nobody is connected to a terminal, whatever the config says."""
        staff = self.runtime.config.handoff.staff_chat_id
        where = (f"on Telegram this conversation would go to the staff group {staff}" if staff
                 else "no staff group is configured ([handoff] staff_chat_id), so on Telegram too "
                      "the customer would get the shop's contact")
        return f"no staff are connected in the local chat; {where}. The request is recorded: `supportbot handoffs` lists it"

    def command(self, line: str) -> bool:
        """/start (with a token from the shop: the account linked, as on Telegram) and /help, in the shop's
        default language (a terminal has no language setting)."""
        domain, language = self.runtime.domain, self.runtime.config.shop.default_language
        if line == "/start":
            print(f"bot> {domain.message('start', language)}", file=self.out)
        elif line.startswith("/start "):
            text, _ = conversation.link_account(self.runtime, Actor(CHANNEL), CHANNEL, self.user, language, line[7:])
            print(f"bot> {text}", file=self.out)
        elif line == "/help":
            print(f"bot> {help_text(domain, language)}", file=self.out)
        else:
            return False
        return True

    def is_choice_attempt(self, line: str) -> bool:
        """A number as long as the choices' numbers ("5" under a list of four) is a choice, in
        range or not; a longer one ("48213", an order number) is a new message."""
        choices = self.choices
        return bool(choices) and line.isdigit() and len(line) <= len(str(len(choices)))

    def press(self, line: str) -> Reply | None:
        """A number or +/- refers to the buttons of the last reply; anything else is a new message."""
        if self.pending is None or self.pending.message_id is None:
            return None
        if line in ("+", "-"):
            choice = Control.UP if line == "+" else Control.DOWN
        elif self.is_choice_attempt(line):
            choice = self.choices[int(line) - 1].choice
        else:
            return None
        return conversation.press(self.runtime, self.pending.message_id, CHANNEL, self.user, choice)

    def turn(self, line: str) -> None:
        stripped = line.strip()
        if self.command(stripped):
            return
        if stripped == "/cancel":
            self.show(conversation.cancel(self.runtime, Incoming(CHANNEL, self.user, f"console:{self.user}", "/cancel")).reply)
            return
        if self.is_choice_attempt(stripped) and not 1 <= int(stripped) <= len(self.choices):
            print(f"bot> {stripped} is not one of the choices: type 1 to {len(self.choices)}, or a new question.", file=self.out)
            self.show_choices()
            return
        reply = self.press(stripped)
        if reply is None:
            reply = conversation.answer(self.runtime, Incoming(CHANNEL, self.user, f"console:{self.user}", line)).reply
        if reply is not None:
            self.show(reply)

    def run(self, stdin: TextIO = sys.stdin) -> None:
        print("supportbot local chat. Type your question, /help for the topics; Ctrl-D or /quit to leave.", file=self.out)
        try:
            while True:
                print("you> ", end="", file=self.out, flush=True)
                line = stdin.readline()
                if not line or line.strip() in ("/quit", "/exit"):
                    print(file=self.out)
                    return
                self.turn(line.rstrip("\n"))
                self.out.flush()
        finally:
            self.close()

    def close(self) -> None:
        """The shop's client and the chat's event loop, after the last line."""
        self.loop.run(self.actions.aclose())
        self.loop.close()
