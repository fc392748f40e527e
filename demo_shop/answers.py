"""The four lookups behind the endpoints: a request's slots in, a contract response (a dict) out.

Order details go only to the buyer: the order number must come with the order's e-mail
(any case) or its postcode, or the request must name the buyer's account (a chat linked through
the shop's /start link, docs/actions.md); a wrong pair gets the same words as an order that does
not exist. A demo account's reference is its e-mail's local part without dots: wei.zhang@… is weizhang.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Mapping
from typing import Any

from demo_shop.wording import words

_BRACKETED = re.compile(r"\s*[（(][^）)]*[)）]")
Answer = dict[str, Any]
Lookup = Callable[[sqlite3.Connection, Mapping[str, str], str, str | None], Answer]
MAX_RECENT = 5


def account_of(email: str) -> str:
    """The demo's account reference of a buyer: wei.zhang@example.org is weizhang."""
    return email.split("@", 1)[0].replace(".", "").casefold()


def _verified_order(db: sqlite3.Connection, slots: Mapping[str, str], account: str | None) -> sqlite3.Row | None:
    order_id = slots.get("order_id", "").strip().lstrip("#")
    verifier = slots.get("verifier", "").strip().casefold()
    if not order_id.isdigit() or not (verifier or account):
        return None
    order = db.execute("SELECT * FROM orders WHERE id = ?", (int(order_id),)).fetchone()
    if order is None:
        return None
    if account is not None:
        return order if account_of(order["email"]) == account.casefold() else None
    return order if verifier in (order["email"].casefold(), order["postcode"]) else None


def _no_order(language: str) -> Answer:
    return {"outcome": "not_found", "text": words(language)["no_order"]}


def order_status(db: sqlite3.Connection, slots: Mapping[str, str], language: str, account: str | None) -> Answer:
    order = _verified_order(db, slots, account)
    if order is None:
        return _no_order(language)
    return {"outcome": "ok", "fields": {
        "order_id": str(order["id"]), "status": words(language)[order["state"]], "shipped_on": order["shipped_on"],
        "carrier": order["carrier"], "tracking_url": order["tracking_url"], "expected_on": order["expected_on"],
    }}


def delivery_delayed(db: sqlite3.Connection, slots: Mapping[str, str], language: str, account: str | None) -> Answer:
    order = _verified_order(db, slots, account)
    if order is None:
        return _no_order(language)
    said = words(language)
    if order["state"] == "lost":
        return {"outcome": "handoff", "text": said["lost_parcel"].format(order_id=order["id"])}
    return {"outcome": "ok", "fields": {
        "order_id": str(order["id"]), "status": said[order["state"]], "expected_on": order["expected_on"],
        "reason": said[order["delay"]] if order["delay"] else "",
    }}


def refund_status(db: sqlite3.Connection, slots: Mapping[str, str], language: str, account: str | None) -> Answer:
    order = _verified_order(db, slots, account)
    if order is None:
        return _no_order(language)
    refund = db.execute("SELECT * FROM refunds WHERE order_id = ?", (order["id"],)).fetchone()
    if refund is None:
        return {"outcome": "not_found", "text": words(language)["no_refund"].format(order_id=order["id"])}
    return {"outcome": "ok", "fields": {
        "order_id": str(order["id"]), "refund_status": words(language)[refund["state"]], "amount": refund["amount"],
        "refunded_on": refund["refunded_on"],
    }}


def product_availability(db: sqlite3.Connection, slots: Mapping[str, str], language: str, _account: str | None) -> Answer:
    said = words(language)
    item = _product(db, slots.get("product", ""))
    if item is None:
        return {"outcome": "not_found", "text": said["no_product"]}
    name = item["name_zh"] if language == "zh" else item["name_en"]
    if item["quantity"] > 0:
        return {"outcome": "ok", "text": said["in_stock"].format(name=name, quantity=item["quantity"])}
    return {"outcome": "ok", "text": said["sold_out"].format(name=name, restock_on=item["restock_on"])}


def recent_orders(db: sqlite3.Connection, _slots: Mapping[str, str], language: str, account: str | None) -> Answer:
    """A linked customer's latest orders, offered as buttons when the bot asks which order: no account, none."""
    if account is None:
        return {"outcome": "not_found"}
    said = words(language)
    orders = [o for o in db.execute("SELECT * FROM orders ORDER BY id DESC") if account_of(o["email"]) == account.casefold()]
    if not orders:
        return {"outcome": "not_found"}
    return {"outcome": "ok", "choices": [{"value": str(o["id"]), "label": f"{o['id']} · {said[o['state']]} · {o['total']}"}
                                         for o in orders[:MAX_RECENT]]}


def _product(db: sqlite3.Connection, asked: str) -> sqlite3.Row | None:
    """The item whose SKU or name (English or Chinese, any case, with or without its bracketed size) is
    what was asked, or is named in it ("有没有绿茶"), or contains it ("mug" finds the blue ceramic mug)."""
    query = asked.strip().casefold()
    if not query:
        return None
    items = db.execute("SELECT * FROM stock ORDER BY sku").fetchall()
    tests = (
        lambda names: query in names,
        lambda names: any(name in query for name in names),
        lambda names: len(query) >= 2 and any(query in name for name in names),
    )
    for test in tests:
        found = next((item for item in items if test(_names(item))), None)
        if found is not None:
            return found
    return None


def _names(item: sqlite3.Row) -> list[str]:
    names = [item["name_en"].casefold(), item["name_zh"]]
    return [item["sku"].casefold(), *names, *(_BRACKETED.sub("", name) for name in names)]


LOOKUPS: dict[str, Lookup] = {
    "order_status": order_status,
    "delivery_delayed": delivery_delayed,
    "refund_status": refund_status,
    "product_availability": product_availability,
    "recent_orders": recent_orders,
}
