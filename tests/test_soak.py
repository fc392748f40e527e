"""Reliability, measured: a soak under injected faults, kill -9 crash loops, and token hygiene.

Each check has a small version in the default run (CI proves the property every time) and a long
version marked `soak` (`make soak`, which also writes bench/soak.json). Sizes come from the
environment: SOAK_MESSAGES, SOAK_USERS, SOAK_KILLS.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import random
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
from telegram.ext import AIORateLimiter

from tests.botapi import BotAPIServer, Chat, User
from tests.conftest import free_port
from tests.harness import configure, running_bot
from training.config import Config, TelegramMode

ROOT = Path(__file__).resolve().parent.parent
SOAK_JSON = ROOT / "bench" / "soak.json"
NO_FLOOD = "rate_limit_messages = 1000000\nrate_limit_seconds = 1.0\n"  # [telegram] keys: measure delivery
TOKEN = "987654321:AAsoakSECRETtokenNEVERtoBEseen_x9"
HANDOFF_EVERY = 5  # with a handoff share: every fifth customer asks for a person and staff answer them
GROUP_MINUTE_S = 1.0  # Telegram's 20 messages a minute into the staff group, its minute scaled to a second
ONLY_HUMAN = "on_request = false\non_button = false\nfallbacks_in_a_row = 0\nthumbs_down_in_a_row = 0\n"


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def peak_rss_mb() -> float:
    """The test process's high-water mark (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


SECTIONS = ("soak", "soak_handoff", "kill_bot", "kill_bot_webhook", "kill_bot_handoff", "kill_training", "kill_promote")


def record(section: str, figures: dict) -> None:
    """Merge one test's figures into bench/soak.json, so `make soak` leaves them all in one file."""
    data = json.loads(SOAK_JSON.read_text()) if SOAK_JSON.exists() else {}
    data[section] = figures
    data["peak_rss_mb"] = round(max(peak_rss_mb(), data.get("peak_rss_mb", 0)), 1)
    SOAK_JSON.write_text(json.dumps(summarise(data), indent=2, ensure_ascii=False) + "\n")


def summarise(data: dict) -> dict:
    """The headline figures on top: the soak's size, and lost/duplicated/... summed over every run."""
    sections = [data[name] for name in SECTIONS if name in data]

    def total(key: str) -> int:
        return sum(s.get(key, 0) for s in sections)

    soak = data.get("soak", {})
    headline = {"command": "make soak", "messages": soak.get("messages", 0), "users": soak.get("users", 0),
                "faults_injected": soak.get("faults_injected", 0), "lost": total("lost"),
                "duplicated": total("duplicated"), "unanswered": total("unanswered"),
                "answered_twice": total("answered_twice"), "relay_lost": total("relay_lost"),
                "relayed_twice": total("relayed_twice"),
                "accepted_but_unrecorded_at_kill": total("accepted_but_unrecorded_at_kill"),
                "kill_iterations": total("kill_iterations"), "corrupted": total("corrupted"),
                "peak_rss_mb": data["peak_rss_mb"]}
    return {**headline, **{name: data[name] for name in SECTIONS if name in data}}


def customer_texts(config: Config) -> list[str]:
    """Real phrasings from the starter domain, both languages, so every reply path is exercised."""
    from training.domain import load_domain

    domain = load_domain(config.data_dir)
    return [text for intent in domain.intents.values() for lang in ("en", "zh") for text in intent.examples[lang]]


# --- the soak ------------------------------------------------------------------------------------


@dataclass
class Relays:
    """A handoff's two directions: what each side wrote, and where it must arrive."""

    group: Chat
    threads: dict[int, int]  # customer id -> their topic
    names: dict[int, str]  # staff id -> first name, as the customer reads it
    customer_texts: dict[str, int] = field(default_factory=dict)  # text -> the topic it belongs in
    staff_texts: dict[str, int] = field(default_factory=dict)  # "Sam: text" -> the customer chat


def relayed_counts(server: BotAPIServer, relays: Relays) -> tuple[Counter, Counter]:
    """How many copies of each relayed text the bot made, in the right place only: (into topics, to customers)."""
    to_staff, to_customers = Counter(), Counter()
    for chat_id, message_id in server.state.bot_messages:
        message = server.state.chats[chat_id].messages.get(message_id) or {}
        text = message.get("text")
        if chat_id == relays.group.id and relays.customer_texts.get(text) == message.get("message_thread_id"):
            to_staff[text] += 1
        elif relays.staff_texts.get(text) == chat_id:
            to_customers[text] += 1
    return to_staff, to_customers


@dataclass
class Tally:
    """What the customers sent and what Telegram (the local server) saw the bot send, per chat; with a
    handoff share, what was relayed between customers in handoff and staff."""

    first_update: int = 0  # update ids are consecutive: the range is all the keys, in O(1) memory
    last_update: int = 0
    staff_updates: set[int] = field(default_factory=set)  # in the range, but staff's: not customer messages
    sent_per_chat: Counter = field(default_factory=Counter)
    answers_per_chat: dict[int, Counter] = field(default_factory=dict)
    relays: Relays | None = None
    relayed: int = 0  # customer messages in handoff (each answered by staff once) in this wave
    to_staff: Counter = field(default_factory=Counter)
    to_customers: Counter = field(default_factory=Counter)
    faults: Counter = field(default_factory=Counter)
    rss_mb: list[float] = field(default_factory=list)
    python_blocks: list[int] = field(default_factory=list)

    def keys(self) -> set[str]:
        return {f"telegram:{i}" for i in range(self.first_update, self.last_update + 1) if i not in self.staff_updates}

    def sent(self, update: dict) -> None:
        self.first_update = self.first_update or update["update_id"]
        self.last_update = update["update_id"]

    def sample_memory(self) -> None:
        """RSS, and Python's allocated blocks: the heap the bot's own objects live in, which a leak grows
        even while RSS stays flat on memory freed earlier (the session's model training)."""
        gc.collect()
        self.rss_mb.append(round(rss_mb(), 1))
        self.python_blocks.append(sys.getallocatedblocks())


def inject_faults(server: BotAPIServer, sent: int, relaying: bool = False) -> None:
    """Per 100 messages one 5xx of each kind and a dropped connection (on copyMessage too while relaying);
    a 429 per 500; getUpdates too."""
    for kind in ("500", "502", "drop"):
        server.inject("sendMessage", kind)
        if relaying:
            server.inject("copyMessage", kind)
    if sent % 500 == 0:
        server.inject("sendMessage", "429", retry_after=1)
    if sent % 1000 == 0:
        for kind in ("500", "502", "drop"):
            server.inject("getUpdates", kind)


def take_history(server: BotAPIServer, tally: Tally) -> None:
    """Count what the bot sent, then drop the server's records: the RSS then measures the bot. The staff
    group and the chats of customers in handoff are counted as relays, by their texts."""
    handoff_chats = set()
    if tally.relays is not None:
        to_staff, to_customers = relayed_counts(server, tally.relays)
        tally.to_staff.update(to_staff)
        tally.to_customers.update(to_customers)
        handoff_chats = {tally.relays.group.id, *tally.relays.threads}
    for chat_id, message_id in server.state.bot_messages:
        if chat_id in handoff_chats:
            continue
        message = server.state.chats[chat_id].messages[message_id]
        tally.answers_per_chat.setdefault(chat_id, Counter())[message.get("text")] += 1
    tally.faults.update(f"{f.method}:{f.kind}" for f in server.faults_served)
    server.state.bot_messages.clear()
    server.faults_served.clear()
    server.calls.clear()
    for log in server.state.chats.values():
        opening = {i: log.messages[i] for i in log.topics}  # a topic's first message: what a new one replies to
        log.messages.clear()
        log.messages.update(opening)


async def send_wave(server: BotAPIServer, customers: list, texts: list[str], start: int, n: int,
                    tally: Tally, rng: random.Random, staff: list[User] = ()) -> None:
    """n messages round-robin over the customers, in chunks of 100 with faults queued before each. A
    customer in handoff writes to staff instead, and a member of staff answers in their topic."""
    tally.relayed = 0
    for i in range(start, start + n):
        if i % 100 == 0:
            inject_faults(server, i, relaying=bool(staff))
            await asyncio.sleep(0)  # let the bot fetch while customers keep writing
        user = customers[i % len(customers)]
        if tally.relays is not None and user.id in tally.relays.threads:
            relay_both_ways(server, tally, user, rng.choice(staff), i)
            continue
        tally.sent(server.send_text(user, rng.choice(texts)))
        tally.sent_per_chat[user.id] += 1


def relay_both_ways(server: BotAPIServer, tally: Tally, customer: User, member: User, i: int) -> None:
    """A customer in handoff writes; a member of staff answers in their topic (each text unique, to be found)."""
    relays, thread = tally.relays, tally.relays.threads[customer.id]
    text, reply = f"h{customer.id}-{i} my parcel is still not here", f"s{customer.id}-{i} checking with the warehouse"
    relays.customer_texts[text] = thread
    relays.staff_texts[f"{relays.names[member.id]}: {reply}"] = customer.id
    tally.sent(server.send_text(customer, text))
    staff_update = server.send_text(member, reply, relays.group, thread=thread)
    tally.staff_updates.add(staff_update["update_id"])
    tally.last_update = staff_update["update_id"]
    tally.relayed += 1


def staff_group(server: BotAPIServer, staff: list[User]) -> Chat:
    """A forum supergroup, the bot an admin that manages topics, `staff` its members."""
    group = server.create_group("Shop staff", forum=True, bot_is_admin=True)
    for member in staff:
        server.add_member(group, member, "member")
    return group


async def hand_over(server: BotAPIServer, bot, customers: list[User], staff: list[User], group: Chat,
                    tally: Tally) -> None:
    """Every HANDOFF_EVERY-th customer types /human; their topics open in the staff group where `staff` answer."""
    asking = customers[::HANDOFF_EVERY]
    for customer in asking:
        tally.sent(server.send_text(customer, "/human"))
    tally.relays = await handed_over(server, bot.runtime.db, group, asking, staff)
    take_history(server, tally)  # the openings: headers and "passed to our team", not relays


async def handed_over(server: BotAPIServer, db, group: Chat, customers: list[User], staff: list[User]) -> Relays:
    """Once each of `customers`, who typed /human, has their topic: where each one is (`db`: a connection
    to the bot's database, its own or a test's)."""
    await server.wait_for(lambda: len(server.topics(group)) == len(customers) and not server.pending_updates, 60)
    rows = db.execute("SELECT u.external_id, h.thread_id FROM handoffs h JOIN users u ON u.id = h.user_id "
                      "WHERE h.status = 'open'").fetchall()
    threads = {int(user): thread for user, thread in rows}
    assert sorted(threads) == sorted(c.id for c in customers), rows
    return Relays(group, threads, {m.id: m.first_name for m in staff})


async def run_soak(config: Config, server: BotAPIServer, users: int, messages: int, sample_every: int = 1000,
                   handoffs: bool = False) -> dict:
    """Send `messages` from `users` through the real PTB app under faults; return the figures. With
    `handoffs`, every HANDOFF_EVERY-th customer is handed to staff first, and their messages and staff's
    answers are relayed through the staff group (Telegram's pace for a group, its minute scaled to
    GROUP_MINUTE_S; tests/test_handoff_pace.py holds the relay to the real pace)."""
    rng = random.Random(6)
    texts = customer_texts(config)
    tally = Tally()
    started = time.monotonic()
    staff = [server.create_user(name) for name in ("Sam", "Kim")] if handoffs else []
    group = staff_group(server, staff) if handoffs else None
    # Only /human hands over: a customer the model hands over mid-soak would have no staff answering them.
    extra = f"\n[handoff]\nstaff_chat_id = {group.id}\n{ONLY_HUMAN}" if handoffs else ""
    limiter = AIORateLimiter(max_retries=3, group_time_period=GROUP_MINUTE_S) if handoffs else None
    async with running_bot(configure(config, server, extra, telegram=NO_FLOOD), server, limiter) as bot:
        customers = [server.create_user(f"C{i}", language_code=rng.choice(["en", "zh-hans"])) for i in range(users)]
        if handoffs:
            await hand_over(server, bot, customers, staff, group, tally)
        for start in range(0, messages, sample_every):
            n = min(sample_every, messages - start)
            await send_wave(server, customers, texts, start, n, tally, rng, staff)
            expected = n + tally.relayed  # an answer or a copy per message, and staff's answer to each relayed one
            await server.wait_for(lambda e=expected: len(server.state.bot_messages) >= e and not server.pending_updates,
                                  timeout=60 + n / 5)
            await asyncio.sleep(0.2)  # a duplicate send would show up now
            take_history(server, tally)
            tally.sample_memory()
        db = bot.runtime.db
        figures = verify_soak(db, tally)
    return {"messages": messages, "users": users, **figures, "seconds": round(time.monotonic() - started, 1),
            "messages_per_second": round(messages / (time.monotonic() - started), 1),
            "faults_injected": sum(tally.faults.values()), "faults_by_kind": dict(sorted(tally.faults.items())),
            "memory_sample_every": sample_every, "rss_mb_samples": tally.rss_mb,
            "python_blocks_samples": tally.python_blocks, "peak_rss_mb": round(peak_rss_mb(), 1)}


def verify_soak(db, tally: Tally) -> dict:
    """Lost, duplicated and unanswered, from the database and from what Telegram saw; with a handoff share,
    the same for both directions of the relay."""
    stored = Counter(k for (k,) in db.execute("SELECT external_key FROM messages WHERE direction = 'in'"))
    answers = Counter(r for (r,) in db.execute("SELECT reply_to FROM messages WHERE direction = 'out' "
                                               "AND reply_to IS NOT NULL"))  # staff's answer none
    undelivered = db.execute("SELECT COUNT(*) FROM messages WHERE direction = 'in' AND answered_at IS NULL")
    db_texts: dict[int, Counter] = {}
    for chat_id, text in db.execute("SELECT chat_id, text FROM messages WHERE direction = 'out'"):
        if tally.relays is None or int(chat_id) not in tally.relays.threads:
            db_texts.setdefault(int(chat_id), Counter())[text] += 1
    seen = {chat: sum(c.values()) for chat, c in tally.answers_per_chat.items()}
    keys = tally.keys()
    return {
        "updates": len(keys),
        "lost": len(keys - set(stored)),
        "duplicated": sum(n - 1 for n in stored.values() if n > 1) + len(set(stored) - keys),
        "unanswered": undelivered.fetchone()[0],  # no answer recorded as delivered
        "answered_twice_in_db": sum(1 for n in answers.values() if n > 1),
        "telegram_missing_answers": sum(max(0, n - seen.get(chat, 0)) for chat, n in tally.sent_per_chat.items()),
        "telegram_extra_answers": sum(max(0, seen.get(chat, 0) - n) for chat, n in tally.sent_per_chat.items()),
        "telegram_text_mismatches": sum(1 for chat, c in tally.answers_per_chat.items() if db_texts.get(chat) != c),
        **relay_figures(db, tally),
    }


def relay_figures(db, tally: Tally) -> dict:
    """Customer messages in handoff that never reached their topic, staff answers that never reached the
    customer, and copies made twice (none without kills)."""
    if tally.relays is None:
        return {}
    relays = tally.relays
    return {
        "handoff_customers": len(relays.threads),
        "relayed_to_staff": len(relays.customer_texts), "relayed_to_customers": len(relays.staff_texts),
        "relay_lost": sum(1 for t in relays.customer_texts if not tally.to_staff[t])
        + sum(1 for t in relays.staff_texts if not tally.to_customers[t]),
        "relayed_twice": sum(n - 1 for n in (*tally.to_staff.values(), *tally.to_customers.values())),
        "staff_undelivered": db.execute("SELECT COUNT(*) FROM messages WHERE author IS NOT NULL "
                                        "AND answered_at IS NULL").fetchone()[0],
    }


def assert_delivered(figures: dict) -> None:
    assert figures["updates"] == figures["messages"] + figures.get("handoff_customers", 0), figures  # and their /human
    for key in ("lost", "duplicated", "unanswered", "answered_twice_in_db", "telegram_missing_answers",
                "telegram_extra_answers", "telegram_text_mismatches"):
        assert figures[key] == 0, (key, figures)
    if "handoff_customers" in figures:
        for key in ("relay_lost", "relayed_twice", "staff_undelivered"):
            assert figures[key] == 0, (key, figures)
        assert figures["relayed_to_staff"] == figures["relayed_to_customers"] > 0, figures


@pytest.fixture
async def server():
    async with BotAPIServer(token=TOKEN) as srv:
        yield srv


@pytest.mark.e2e
async def test_a_small_soak_under_faults_loses_and_duplicates_nothing(trained_config, server):
    figures = await run_soak(trained_config, server, users=30, messages=300, sample_every=300)
    assert_delivered(figures)
    assert figures["faults_injected"] >= 10


@pytest.mark.e2e
async def test_a_small_soak_with_handoffs_relays_both_ways_and_loses_nothing(trained_config, server):
    figures = await run_soak(trained_config, server, users=20, messages=300, sample_every=300, handoffs=True)
    assert_delivered(figures)
    assert figures["handoff_customers"] == 4 and figures["relayed_to_staff"] == 60


@pytest.mark.soak
async def test_soak_with_handoffs_relays_both_ways_and_memory_stays_flat(trained_config, server):
    messages, users = env_int("SOAK_MESSAGES", 5000), env_int("SOAK_USERS", 200)
    figures = await run_soak(trained_config, server, users=users, messages=messages, handoffs=True)
    record("soak_handoff", figures)
    assert_delivered(figures)
    assert_flat(figures["rss_mb_samples"], slack=20)  # MB
    assert_flat(figures["python_blocks_samples"], slack=20_000)


@pytest.mark.soak
async def test_soak_under_faults_loses_and_duplicates_nothing_and_memory_stays_flat(trained_config, server):
    messages, users = env_int("SOAK_MESSAGES", 5000), env_int("SOAK_USERS", 200)
    figures = await run_soak(trained_config, server, users=users, messages=messages)
    record("soak", figures)
    assert_delivered(figures)
    assert_flat(figures["rss_mb_samples"], slack=20)  # MB
    assert_flat(figures["python_blocks_samples"], slack=20_000)  # ~1 MB of small objects; a leak of 2 per message


def assert_flat(samples: list, slack: float) -> None:
    """The last samples within `slack` of the early ones, after the first wave warmed up.

    Run without pytest's log capture (`make soak` does): it keeps every record, and so grows.
    """
    baseline = max(samples[1:3]) if len(samples) > 2 else samples[0]
    assert max(samples[-2:]) <= baseline + slack, samples


# --- kill -9 of the bot mid-burst ---------------------------------------------------------------


class BotProcess:
    """`supportbot run` as a real child process, talking to the test's local Bot API server."""

    def __init__(self, config: Config, token: str, log_path: Path) -> None:
        self.config = config
        self.env = {**{k: v for k, v in os.environ.items() if k != "SUPPORTBOT_VAR"}, "TELEGRAM_BOT_TOKEN": token}
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    async def start(self, server: BotAPIServer) -> None:
        """Spawn and wait until it long-polls or its webhook listens (its bootstrap is done)."""
        polls = server.state.poll_generation
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: ASYNC220 - returns at once; the bot runs on its own
                [sys.executable, "-m", "bot.cli", "run", "--config", str(self.config.source)],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )
        if self.config.telegram.mode == TelegramMode.WEBHOOK:
            await self._wait_listening(self.config.telegram.webhook_port, 90)
        else:
            await server.wait_for(lambda: server.state.poll_generation > polls or self.process.poll() is not None, 90)
        assert self.process.poll() is None, self.log_path.read_text()[-3000:]

    async def _wait_listening(self, port: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.1)
                continue
            writer.close()
            return

    async def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(self.process.wait, 30)

    async def stop(self) -> int:
        """SIGTERM: PTB finishes the updates in flight and exits."""
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.to_thread(self.process.wait, 60)

    def close(self) -> None:
        """After a failed test: never leave a bot running."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)


def answered_per_chat(db_path: Path) -> Counter:
    """Incoming messages whose answer the bot recorded as delivered, per chat (a fresh connection)."""
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute(
            "SELECT chat_id, COUNT(*) FROM messages WHERE direction = 'in' AND answered_at IS NOT NULL GROUP BY chat_id"
        )
        return Counter({int(chat): n for chat, n in rows})


def database_figures(db_path: Path, keys: set[str]) -> dict:
    """Lost, duplicated and unanswered in the log, and the integrity check, after the last restart."""
    with sqlite3.connect(db_path) as conn:
        stored = Counter(k for (k,) in conn.execute("SELECT external_key FROM messages WHERE direction = 'in'"))
        unanswered = conn.execute(
            "SELECT COUNT(*) FROM messages WHERE direction = 'in' AND answered_at IS NULL"
        ).fetchone()[0]
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
    return {"lost": len(keys - set(stored)), "duplicated": sum(n - 1 for n in stored.values() if n > 1),
            "unanswered": unanswered, "corrupted": int(check != "ok")}


def accepted_but_unrecorded(server: BotAPIServer, db_path: Path) -> int:
    """Answers Telegram accepted that the killed bot had not yet recorded as delivered.

    The Bot API has no idempotency key, so these are the only answers a restart may send again:
    the bot cannot know that Telegram took them in the instant before the kill.
    """
    sent = Counter(chat for chat, _ in server.state.bot_messages)
    recorded = answered_per_chat(db_path)
    return sum(max(0, n - recorded[chat]) for chat, n in sent.items())


async def burst(server: BotAPIServer, customers: list, texts: list[str], per_user: int, rng: random.Random,
                keys: set[str], per_chat: Counter) -> None:
    for user in customers:
        for _ in range(per_user):
            keys.add(f"telegram:{server.send_text(user, rng.choice(texts))['update_id']}")
            per_chat[user.id] += 1


async def kill_bot_mid_burst(config: Config, server: BotAPIServer, tmp_path: Path, iterations: int,
                             per_user: int = 3, telegram: str = "") -> dict:
    """Each iteration: a burst from 20 customers, kill -9 after a random number of answers, restart.

    `telegram` adds [telegram] keys (webhook mode)."""
    from tests.harness import ADMIN_ID

    rng = random.Random(9)
    server.create_user("Admin", user_id=ADMIN_ID, started=True)
    customers = [server.create_user(f"K{i}") for i in range(20)]
    texts = customer_texts(config)
    bot = BotProcess(configure(config, server, telegram=NO_FLOOD + telegram), server.token, tmp_path / "bot.log")
    keys, per_chat, kills = set(), Counter(), []
    try:
        await bot.start(server)
        for _ in range(iterations):
            kills.append(await kill_once(bot, server, config, customers, texts, per_user, rng, keys, per_chat))
        assert await bot.stop() == 0, bot.log_path.read_text()[-3000:]
    finally:
        bot.close()
    sent = Counter(chat for chat, _ in server.state.bot_messages)
    return {
        "kill_iterations": iterations,
        "messages": len(keys),
        **database_figures(config.db_path, keys),
        "answered_twice": sum(max(0, sent[c] - n) for c, n in per_chat.items()),
        "never_answered_on_telegram": sum(max(0, n - sent[c]) for c, n in per_chat.items()),
        "accepted_but_unrecorded_at_kill": sum(k["accepted_but_unrecorded"] for k in kills),
        "webhook_updates_given_up": len(server.dropped_webhook_updates),
        "kills": kills,
    }


async def kill_once(bot: BotProcess, server: BotAPIServer, config: Config, customers: list, texts: list[str],
                    per_user: int, rng: random.Random, keys: set[str], per_chat: Counter) -> dict:
    """One burst, kill -9 after a random number of answers, restart, wait until all is confirmed."""
    before = len(server.state.bot_messages)
    resent_before = accepted_but_unrecorded(server, config.db_path)  # earlier second answers stay counted
    await burst(server, customers, texts, per_user, rng, keys, per_chat)
    kill_after = rng.randint(1, len(customers) * per_user * 4 // 5)
    await server.wait_for(lambda: len(server.state.bot_messages) - before >= kill_after, timeout=60)
    await bot.kill()
    figures = {"answered_before_kill": len(server.state.bot_messages) - before,
               "unconfirmed_at_kill": len(server.pending_updates),
               "accepted_but_unrecorded": accepted_but_unrecorded(server, config.db_path) - resent_before}
    await bot.start(server)
    await server.wait_for(lambda: not server.pending_updates, timeout=120)
    return figures


def assert_crash_safe(figures: dict, none: tuple[str, ...] = ("lost", "duplicated", "unanswered", "corrupted",
                      "never_answered_on_telegram", "webhook_updates_given_up"), twice: str = "answered_twice") -> None:
    """Nothing lost, stored twice, left unanswered or corrupted (the `none` figures); a second answer (or
    copy: `twice`) only where unavoidable."""
    for key in none:
        assert figures[key] == 0, (key, figures)
    assert figures[twice] <= figures["accepted_but_unrecorded_at_kill"], figures


@pytest.mark.e2e
async def test_kill_9_of_the_bot_mid_burst_loses_nothing_and_answers_everyone(trained_config, server, tmp_path):
    figures = await kill_bot_mid_burst(trained_config, server, tmp_path, iterations=2)
    assert_crash_safe(figures)


async def kill_webhook_bot_mid_burst(config: Config, tmp_path: Path, iterations: int, per_user: int = 3) -> dict:
    """The same in webhook mode: Telegram retries a POST not answered 200 while the bot is down."""
    port = free_port()
    keys = f'mode = "webhook"\nwebhook_port = {port}\nwebhook_url = "http://127.0.0.1:{port}/telegram"\n'
    async with BotAPIServer(token=TOKEN, webhook_retry_delays=(0.2,) * 600) as server:
        return await kill_bot_mid_burst(config, server, tmp_path, iterations, per_user, telegram=keys)


@pytest.mark.e2e
async def test_kill_9_in_webhook_mode_loses_nothing_and_answers_everyone(trained_config, tmp_path, monkeypatch):
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "soak-webhook-secret")
    assert_crash_safe(await kill_webhook_bot_mid_burst(trained_config, tmp_path, iterations=2))


@pytest.mark.soak
async def test_kill_9_in_webhook_mode_repeatedly(trained_config, tmp_path, monkeypatch):
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "soak-webhook-secret")
    figures = await kill_webhook_bot_mid_burst(trained_config, tmp_path, iterations=env_int("SOAK_KILLS", 10),
                                               per_user=env_int("SOAK_BURST_PER_USER", 20))
    record("kill_bot_webhook", figures)
    assert_crash_safe(figures)


@pytest.mark.soak
async def test_kill_9_of_the_bot_mid_burst_repeatedly(trained_config, server, tmp_path):
    figures = await kill_bot_mid_burst(trained_config, server, tmp_path, iterations=env_int("SOAK_KILLS", 10),
                                       per_user=env_int("SOAK_BURST_PER_USER", 20))
    record("kill_bot", figures)
    assert_crash_safe(figures)


# --- kill -9 of the training child mid-epoch -----------------------------------------------------


async def kill_training_mid_epoch(config: Config, iterations: int) -> dict:
    """Start a retrain, wait until it is in an epoch, kill its child after a random pause; repeat."""
    from bot.retrain import Retrainer
    from bot.runtime import open_runtime
    from bot.usecases.access import Actor
    from bot.worker import Worker
    from storage.runs import Runs, RunTrigger

    rng = random.Random(3)
    runtime = open_runtime(config)
    live = runtime.registry.live()["version"]
    versions = sorted(p.name for p in config.models_dir.iterdir())
    worker = Worker(runtime)
    retrainer, runs, failures = Retrainer(worker, config.source, config.var_dir), Runs(runtime.db), []
    for _ in range(iterations):
        run_id = await retrainer.start(RunTrigger.ADMIN, Actor("soak", admin=True))
        deadline = time.monotonic() + 180
        while not (runs.get(run_id)["progress"] or "").startswith("epoch"):
            assert time.monotonic() < deadline, runs.get(run_id)
            await asyncio.sleep(0.1)
        await asyncio.sleep(rng.uniform(0, 1.5))
        os.kill(runtime.db.execute("SELECT owner_pid FROM locks").fetchone()[0], signal.SIGKILL)
        run = await retrainer.wait(run_id)
        failures.append(run["status"] == "failed" and runtime.db.execute("SELECT COUNT(*) FROM locks").fetchone()[0] == 0)
    figures = {
        "kill_iterations": iterations,
        "runs_recorded_failed": sum(failures),
        "live_model_unchanged": runtime.registry.live()["version"] == live and runtime.model.refresh() is False,
        "models_dir_unchanged": sorted(p.name for p in config.models_dir.iterdir()) == versions,
        "corrupted": int(runtime.db.execute("PRAGMA quick_check").fetchone()[0] != "ok"),
    }
    worker.close()
    return figures


def assert_training_kills_harmless(figures: dict) -> None:
    assert figures["runs_recorded_failed"] == figures["kill_iterations"], figures
    assert figures["live_model_unchanged"] and figures["models_dir_unchanged"], figures
    assert figures["corrupted"] == 0


@pytest.mark.slow
async def test_kill_9_of_the_training_child_mid_epoch_twice(trained_config):
    assert_training_kills_harmless(await kill_training_mid_epoch(trained_config, 2))


@pytest.mark.soak
async def test_kill_9_of_the_training_child_mid_epoch_repeatedly(trained_config):
    figures = await kill_training_mid_epoch(trained_config, env_int("SOAK_KILLS", 10))
    record("kill_training", figures)
    assert_training_kills_harmless(figures)


# --- kill -9 while promoting ---------------------------------------------------------------------

PROMOTER = """
import itertools, sys
from pathlib import Path
from storage.db import open_db
from storage.registry import ModelRegistry
registry = ModelRegistry(open_db(sys.argv[1]), Path(sys.argv[2]))
print("ready", flush=True)
for version in itertools.cycle(sys.argv[3:]):
    registry.promote(version)
"""


def second_version(config: Config) -> tuple[str, str]:
    """The live version and a copy of it registered as another version: two to promote between."""
    import shutil

    from storage.db import open_db
    from storage.registry import ModelRegistry

    registry = ModelRegistry(open_db(config.db_path), config.models_dir)
    live = registry.live()
    other = live["version"] + "-b"
    shutil.copytree(live["path"], config.models_dir / other)
    registry.register(other, live["metrics"])
    registry.db.close()
    return live["version"], other


def kill_promoter(config: Config, rng: random.Random, versions: tuple[str, str]) -> None:
    child = subprocess.Popen([sys.executable, "-c", PROMOTER, str(config.db_path), str(config.models_dir), *versions],
                             cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    time.sleep(rng.uniform(0.01, 0.4))
    child.send_signal(signal.SIGKILL)
    child.wait(30)


def live_after_kill(config: Config, versions: tuple[str, str]) -> dict:
    """What a bot starting now would see: live rows, the model it loads, the integrity check."""
    from storage.db import open_db
    from storage.registry import ModelRegistry
    from training.serving import LiveModel

    registry = ModelRegistry(open_db(config.db_path), config.models_dir)
    live_rows = registry.db.execute("SELECT version FROM models WHERE status = 'live'").fetchall()
    loaded = LiveModel(registry).load()
    check = registry.db.execute("PRAGMA quick_check").fetchone()[0]
    registry.db.close()
    return {"live_rows": len(live_rows), "loads": loaded is not None and loaded.version == live_rows[0][0],
            "version": live_rows[0][0] if live_rows else None, "ok": check == "ok"}


def kill_promotions(config: Config, iterations: int) -> dict:
    rng = random.Random(4)
    versions = second_version(config)
    seen = []
    for _ in range(iterations):
        kill_promoter(config, rng, versions)
        seen.append(live_after_kill(config, versions))
    return {
        "kill_iterations": iterations,
        "exactly_one_live": sum(s["live_rows"] == 1 for s in seen),
        "live_model_loads": sum(s["loads"] for s in seen),
        "corrupted": sum(not s["ok"] for s in seen),
        "versions_live_after_kill": dict(Counter(s["version"] for s in seen)),
    }


def test_kill_9_while_promoting_leaves_one_loadable_live_model(trained_config):
    figures = kill_promotions(trained_config, 2)
    assert figures["exactly_one_live"] == figures["live_model_loads"] == 2 and figures["corrupted"] == 0, figures


@pytest.mark.soak
def test_kill_9_while_promoting_repeatedly(trained_config):
    figures = kill_promotions(trained_config, env_int("SOAK_KILLS", 10) * 2)
    record("kill_promote", figures)
    n = figures["kill_iterations"]
    assert figures["exactly_one_live"] == figures["live_model_loads"] == n and figures["corrupted"] == 0, figures


# --- token hygiene -------------------------------------------------------------------------------

SECRET = TOKEN.split(":", 1)[1]  # the part that is secret; the bot id before the colon is public


def exception_texts(records: list) -> str:
    """str and repr of every logged exception and of its causes: what an error report would show."""
    texts = []
    for record in records:
        exc = record.exc_info[1] if record.exc_info else None
        while exc is not None:
            texts += [str(exc), repr(exc)]
            exc = exc.__cause__ or exc.__context__
    return "\n".join(texts)


def files_containing(root: Path, secret: bytes) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and secret in p.read_bytes()]


async def eventually(predicate, timeout: float = 30) -> None:
    """For conditions the server cannot signal (log records): check every 50 ms."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def run_with_failures(config: Config, server: BotAPIServer, caplog: pytest.LogCaptureFixture) -> None:
    """Answer a customer, then fail two updates: a blocked chat (403) and a send that drops every retry."""
    def handled_errors() -> int:
        return sum("error while handling update" in r.getMessage() for r in caplog.records)

    async with running_bot(configure(config, server), server):
        ann, bob = server.create_user("Ann"), server.create_user("Bob")
        server.send_text(ann, "where is my order")
        await server.wait_for_messages(ann, 1)
        server.inject("sendMessage", "delay", delay=1.0)
        server.send_text(ann, "hello?")  # writing unblocks, so block while the answer is on its way
        await server.wait_for(lambda: any(c.fault == "delay" for c in server.calls_to("sendMessage")))
        server.block_bot(ann)
        await eventually(lambda: handled_errors() >= 1)
        server.inject("sendMessage", "drop", count=5)  # send_retries = 5 in the test config
        server.send_text(bob, "refund please")
        await eventually(lambda: handled_errors() >= 2)
        await server.wait_for(lambda: not server.pending_updates, timeout=10)


async def run_cli_bot(config: Config, server: BotAPIServer, log_path: Path) -> str:
    """`supportbot run` with TELEGRAM_BOT_TOKEN set: answer once, stop cleanly, return its output."""
    bot = BotProcess(config, server.token, log_path)
    try:
        await bot.start(server)
        carl = server.create_user("Carl")
        server.send_text(carl, "do you ship express")
        await server.wait_for_messages(carl, 1, timeout=30)
        assert await bot.stop() == 0
    finally:
        bot.close()
    return log_path.read_text()


@pytest.mark.e2e
async def test_the_token_never_reaches_logs_errors_reports_or_the_database(trained_config, server, tmp_path, caplog,
                                                                           monkeypatch):
    from training.child_env import child_env

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    assert SECRET not in json.dumps(child_env())  # training runs and their reports never see it
    caplog.set_level("DEBUG")
    await run_with_failures(trained_config, server, caplog)
    errors = [r for r in caplog.records if r.exc_info]
    output = await run_cli_bot(trained_config, server, tmp_path / "cli.log")
    assert SECRET not in caplog.text, [r.getMessage() for r in caplog.records if SECRET in r.getMessage()][:3]
    assert SECRET not in exception_texts(errors)
    assert SECRET not in output, [line for line in output.splitlines() if SECRET in line][:3]
    assert files_containing(trained_config.var_dir, SECRET.encode()) == []  # database, WAL, reports, models
