"""The demo shop's SQLite file: made and filled with sample data on first start, dated from that day.

The samples are fixed by rule (no randomness), so docs/actions.md can list orders to try: 30 orders
in every state a customer asks about, refunds for some of them, and 15 products, some sold out.
"""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path

FIRST_ORDER = 10001
# Order i's state is STATES[i % 10]: 10001 delivered, 10002 processing, 10003 shipped, 10004 delayed, ...
STATES = ("delivered", "processing", "shipped", "delayed", "delivered", "shipped", "cancelled", "lost", "delivered", "shipped")
NAMES = ("alice", "bo.wang", "carlos", "dana", "emil", "fang.li", "grace", "hiro", "ines", "jun.chen",
         "kofi", "lena", "mei", "nils", "olga", "pablo", "qing", "rosa", "sam", "tara",
         "umar", "vera", "wei.zhang", "xavier", "yara", "zoe", "anna", "ben", "chloe", "dmitri")
DOMAINS = ("example.com", "example.org", "example.net")
CARRIERS = ("China Post", "SF Express", "DHL")
DELAYS = ("customs", "weather", "backlog")
PRODUCTS = (  # sku, English name, Chinese name, in stock, days until restocked when sold out
    ("MUG-BLUE", "Blue ceramic mug", "蓝色陶瓷杯", 12, 0),
    ("TEE-WHITE-M", "White T-shirt (M)", "白色T恤（M码）", 0, 5),
    ("BAG-CANVAS", "Canvas tote bag", "帆布手提袋", 30, 0),
    ("BOTTLE-STEEL", "Steel water bottle", "不锈钢水瓶", 0, 10),
    ("SOCKS-WOOL", "Wool socks", "羊毛袜", 48, 0),
    ("NOTEBOOK-A5", "A5 notebook", "A5笔记本", 7, 0),
    ("PEN-GEL", "Gel pen set", "中性笔套装", 0, 3),
    ("UMBRELLA", "Folding umbrella", "折叠伞", 15, 0),
    ("HEADPHONES", "Wireless headphones", "无线耳机", 2, 0),
    ("CHARGER-USBC", "USB-C charger", "USB-C充电器", 0, 14),
    ("LAMP-DESK", "Desk lamp", "台灯", 9, 0),
    ("CAP-BLACK", "Black baseball cap", "黑色棒球帽", 21, 0),
    ("TEA-GREEN", "Green tea (100 g)", "绿茶（100克）", 0, 7),
    ("SCARF-SILK", "Silk scarf", "真丝围巾", 4, 0),
    ("PLANT-POT", "Plant pot", "花盆", 18, 0),
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY, email TEXT NOT NULL, postcode TEXT NOT NULL, state TEXT NOT NULL,
    carrier TEXT NOT NULL, tracking_number TEXT NOT NULL, tracking_url TEXT NOT NULL,
    shipped_on TEXT NOT NULL, expected_on TEXT NOT NULL, delay TEXT NOT NULL, total TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS refunds (
    order_id INTEGER PRIMARY KEY REFERENCES orders(id), state TEXT NOT NULL, amount TEXT NOT NULL, refunded_on TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stock (
    sku TEXT PRIMARY KEY, name_en TEXT NOT NULL, name_zh TEXT NOT NULL, quantity INTEGER NOT NULL, restock_on TEXT NOT NULL);
"""


def open_catalogue(path: Path, today: date | None = None) -> sqlite3.Connection:
    """The shop's database, seeded on first open (in one transaction: a crash leaves it empty, not half-filled)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    db.executescript(SCHEMA)
    if db.execute("SELECT count(*) FROM orders").fetchone()[0] == 0:
        with db:
            _seed(db, today or date.today())
    return db


def _seed(db: sqlite3.Connection, today: date) -> None:
    db.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [_order(i, today) for i in range(len(NAMES))])
    db.executemany("INSERT INTO refunds VALUES (?, ?, ?, ?)", [r for i in range(len(NAMES)) if (r := _refund(i, today))])
    db.executemany("INSERT INTO stock VALUES (?, ?, ?, ?, ?)", [
        (sku, en, zh, quantity, (today + timedelta(days=days)).isoformat() if days else "")
        for sku, en, zh, quantity, days in PRODUCTS
    ])


def _order(i: int, today: date) -> tuple:
    state = STATES[i % len(STATES)]
    email = f"{NAMES[i]}@{DOMAINS[i % len(DOMAINS)]}"
    postcode = f"{10000 + (i * 7919) % 90000:05d}"
    shipped, expected = _dates(state, i, today)
    sent = bool(shipped)
    tracking = f"RR{123456700 + i * 37:09d}CN" if sent else ""
    return (FIRST_ORDER + i, email, postcode, state, CARRIERS[i % len(CARRIERS)] if sent else "", tracking,
            f"https://track.example.com/{tracking}" if sent else "", shipped, expected,
            DELAYS[i % len(DELAYS)] if state == "delayed" else "", f"€{19.90 + (i * 7.35) % 180:.2f}")


def _dates(state: str, i: int, today: date) -> tuple[str, str]:
    """(shipped_on, expected_on) as ISO dates, "" where they do not apply."""
    days = {  # days from today: shipped, expected
        "processing": (None, 4 + i % 3), "shipped": (-(1 + i % 3), 2 + i % 2), "delivered": (-(8 + i % 5), -(5 + i % 5)),
        "delayed": (-6, 3), "lost": (-15, -8), "cancelled": (None, None),
    }[state]
    return tuple("" if d is None else (today + timedelta(days=d)).isoformat() for d in days)  # type: ignore[return-value]


def _refund(i: int, today: date) -> tuple | None:
    """Cancelled orders were refunded, lost ones approved, and two delivered ones have a request open."""
    state = {"cancelled": "refunded", "lost": "approved"}.get(STATES[i % len(STATES)])
    if state is None and i in (0, 4):
        state = "requested"
    if state is None:
        return None
    total = _order(i, today)[-1]
    return FIRST_ORDER + i, state, total, (today - timedelta(days=2)).isoformat() if state == "refunded" else ""
