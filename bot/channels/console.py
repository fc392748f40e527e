"""Local chat in the terminal, through the same engine as Telegram (channel "console").

Suggestions are numbered; typing a number presses that button. After an answer, "+" or "-"
rates it, like the 👍/👎 buttons. Reads stdin line by line, so it can be scripted.
"""

from __future__ import annotations

import getpass
import sys
from typing import TextIO

from bot.engine import Control, Incoming, Reply
from bot.runtime import Runtime
from bot.usecases import conversation

CHANNEL = "console"
RATINGS = (Control.UP, Control.DOWN)


class ConsoleChat:
    """Single-threaded, so it calls the use cases directly (no worker thread)."""

    def __init__(self, runtime: Runtime, out: TextIO = sys.stdout, user: str | None = None) -> None:
        self.runtime = runtime
        self.out = out
        self.user = user or getpass.getuser()
        self.pending: Reply | None = None  # the last reply with buttons

    def show(self, reply: Reply) -> None:
        print(f"bot> {reply.text}", file=self.out)
        choices = [b for b in reply.buttons if b.choice not in RATINGS]
        for number, button in enumerate(choices, 1):
            print(f"  {number}) {button.label}", file=self.out)
        if any(b.choice == Control.UP for b in reply.buttons):
            print("  (rate this answer: + or -)", file=self.out)
        self.pending = reply if reply.buttons else None

    def press(self, line: str) -> Reply | None:
        """A number or +/- refers to the buttons of the last reply; anything else is a new message."""
        if self.pending is None or self.pending.message_id is None:
            return None
        if line in ("+", "-"):
            choice = Control.UP if line == "+" else Control.DOWN
        elif line.isdigit():
            choices = [b.choice for b in self.pending.buttons if b.choice not in RATINGS]
            index = int(line) - 1
            if not 0 <= index < len(choices):
                return None
            choice = choices[index]
        else:
            return None
        return conversation.press(self.runtime, self.pending.message_id, CHANNEL, self.user, choice)

    def turn(self, line: str) -> None:
        reply = self.press(line.strip())
        if reply is None:
            reply = conversation.answer(self.runtime, Incoming(CHANNEL, self.user, f"console:{self.user}", line)).reply
        if reply is not None:
            self.show(reply)

    def run(self, stdin: TextIO = sys.stdin) -> None:
        print("supportbot local chat. Type your question; Ctrl-D or /quit to leave.", file=self.out)
        while True:
            print("you> ", end="", file=self.out, flush=True)
            line = stdin.readline()
            if not line or line.strip() in ("/quit", "/exit"):
                print(file=self.out)
                return
            self.turn(line.rstrip("\n"))
            self.out.flush()
