"""What the demo shop says, in the request's language (English unless it asks for Chinese)."""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "processing": "being prepared", "shipped": "on its way", "delivered": "delivered", "delayed": "delayed",
        "lost": "lost in transit", "cancelled": "cancelled",
        "requested": "requested, waiting for review", "approved": "approved, the money is on its way", "refunded": "refunded",
        "customs": "held at customs for inspection", "weather": "bad weather at the carrier's hub",
        "backlog": "a backlog at the carrier",
        # Same words whether the order does not exist or the e-mail/postcode is wrong: nothing to probe.
        "no_order": "I couldn't find an order with that number and that e-mail address or postcode. "
                    "Please check both: they are in your order confirmation e-mail.",
        "no_refund": "There is no refund request for order {order_id}.",
        "lost_parcel": "I'm sorry: the parcel of order {order_id} seems to be lost. A colleague will take care of it "
                       "and send a replacement or refund.",
        "in_stock": "Yes, the {name} is in stock ({quantity} left).",
        "sold_out": "The {name} is sold out at the moment; we expect it back on {restock_on}.",
        "no_product": "I couldn't find that product in our shop. Could you give its name as on our website?",
    },
    "zh": {
        "processing": "备货中", "shipped": "运输中", "delivered": "已送达", "delayed": "已延误",
        "lost": "运输中丢失", "cancelled": "已取消",
        "requested": "已申请，等待审核", "approved": "已批准，退款正在处理", "refunded": "已退款",
        "customs": "海关查验中", "weather": "快递转运中心天气恶劣", "backlog": "快递公司包裹积压",
        "no_order": "没有找到与该订单号和邮箱（或邮编）相符的订单。请核对两者，它们都在您的订单确认邮件中。",
        "no_refund": "订单 {order_id} 没有退款申请。",
        "lost_parcel": "很抱歉，订单 {order_id} 的包裹似乎已丢失。我们的同事会为您处理，补发或退款。",
        "in_stock": "{name}有货（剩余 {quantity} 件）。",
        "sold_out": "{name}暂时缺货，预计 {restock_on} 到货。",
        "no_product": "没有在本店找到该商品。请提供网站上的商品名称。",
    },
}


def words(language: str) -> dict[str, str]:
    return WORDS.get(language, WORDS["en"])
