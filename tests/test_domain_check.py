"""`supportbot domain check` on small real domains and real HTTP endpoints on 127.0.0.1, unhappy paths first."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiohttp import web

from tests.actions_server import Handler
from tests.conftest import free_port, write_config
from training.domain import load_domain
from training.domain_check import NEAR_DUPLICATE, Finding, Severity, check_domain, similar_pairs

SLOTS = 'requires = ["order_id"]\n'
ORDER_SLOT = '[slots.order_id]\nentity = ["order_id"]\nen = "Which order?"\nzh = "哪个订单？"\n'
ENTITIES = "[order_id]\npattern = '1[0-9]{4}'\npii = false\n"
EN = ["where is my parcel", "has my order shipped", "track my package please", "when will my delivery arrive",
      "order status", "is my order on its way"]
ZH = ["我的包裹到哪了", "订单发货了吗", "帮我查物流", "快递什么时候到", "订单状态", "我的货在路上了吗"]
GREET_EN = ["hello", "hi there", "good morning", "hey", "good evening", "hiya"]
GREET_ZH = ["你好", "早上好", "嗨", "晚上好", "您好", "哈喽"]
OOS_EN = ["what is the weather", "tell me a joke", "who won the match", "play some music", "what time is it in tokyo",
          "recommend a film"]
OOS_ZH = ["今天天气怎么样", "讲个笑话", "谁赢了比赛", "放首歌", "东京现在几点", "推荐一部电影"]


def _toml_list(texts: list[str]) -> str:
    return "[" + ", ".join(json.dumps(t, ensure_ascii=False) for t in texts) + "]"


def _intent(en: list[str], zh: list[str], response: str = "Hello", head: str = "", tail: str = "") -> str:
    return (f'{head}[title]\nen = "T"\nzh = "题"\n[response]\nen = "{response}"\nzh = "您好"\n{tail}'
            f"[examples]\nen = {_toml_list(en)}\nzh = {_toml_list(zh)}\n")


def _action(endpoint: str = "order_status", fields: str = '["status"]', en: str = "Order {order_id}: {status}") -> str:
    return (f'[action]\nendpoint = "{endpoint}"\nidempotent = true\nfields = {fields}\n'
            f'[action.response]\nen = "{en}"\nzh = "订单 {{order_id}}：{{status}}"\n')


def make_domain(root: Path, intents: dict[str, str], gold: dict[str, tuple[list[str], list[str]]] | None = None) -> Path:
    """A data/ directory: out_of_scope and greet always, plus `intents` (name -> TOML)."""
    for sub in ("intents", "gold"):
        (root / sub).mkdir(parents=True)
    (root / "messages.toml").write_text('[empty]\nen = "e"\nzh = "空"\n')
    (root / "entities.toml").write_text(ENTITIES)
    files = {"out_of_scope": _intent(OOS_EN, OOS_ZH), "greet": _intent(GREET_EN, GREET_ZH), **intents}
    for name, body in files.items():
        (root / "intents" / f"{name}.toml").write_text(body, encoding="utf-8")
    for name, (en, zh) in (gold or {"greet": (["hello hello there friend"], ["大家好"])}).items():
        (root / "gold" / f"{name}.toml").write_text(f"[examples]\nen = {_toml_list(en)}\nzh = {_toml_list(zh)}\n", encoding="utf-8")
    return root


def with_order_action(tmp_path: Path, action: str | None = None) -> Path:
    body = _intent(EN, ZH, head=SLOTS, tail=ORDER_SLOT + (action if action is not None else _action()))
    return make_domain(tmp_path / "data", {"order_status": body})


def findings(root: Path, endpoints: dict[str, str] | None = None, min_examples: int = len(EN)) -> list[Finding]:
    return check_domain(load_domain(root), endpoints, min_examples=min_examples)


def about(found: list[Finding], intent: str, severity: Severity) -> list[str]:
    return [f.message for f in found if f.intent == intent and f.severity == severity]


@contextmanager
def endpoint(handler: Handler) -> Iterator[str]:
    """`handler` answering any method on 127.0.0.1 (aiohttp), served from a thread while the check
    runs in this one; yields its URL."""
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_route("*", "/action", handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/action"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.run_until_complete(runner.cleanup())
        loop.close()


# --- actions ------------------------------------------------------------------------------------


def test_action_endpoint_refusing_connections_is_an_error(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/action"
    found = findings(with_order_action(tmp_path), {"order_status": url})
    assert any(f"at {url} does not answer: ConnectError" in m for m in about(found, "order_status", Severity.ERROR))


def test_action_endpoint_slower_than_the_timeout_is_an_error(tmp_path):
    async def slow(_request: web.Request) -> web.Response:
        await asyncio.sleep(3)
        return web.Response(text="{}")

    with endpoint(slow) as url:
        found = findings(with_order_action(tmp_path), {"order_status": url})
    assert any("does not answer: no response within 2 s" in m for m in about(found, "order_status", Severity.ERROR))


def test_action_endpoint_missing_from_config_is_an_error(tmp_path):
    found = findings(with_order_action(tmp_path), {"refund_status": "http://127.0.0.1:9/x"})
    assert about(found, "order_status", Severity.ERROR) == [
        "endpoint 'order_status' is not in config.toml [actions.endpoints]: the static answer is all it gets"
    ]


def test_slot_choices_endpoint_missing_from_config_is_a_warning_not_an_error(tmp_path):
    root = with_order_action(tmp_path)
    intent = root / "intents" / "order_status.toml"
    intent.write_text(intent.read_text().replace('entity = ["order_id"]\n', 'entity = ["order_id"]\nchoices = "recent_orders"\n'))
    async def answering(_request: web.Request) -> web.Response:
        return web.json_response({})

    with endpoint(answering) as url:
        found = findings(root, {"order_status": url})
    assert ("endpoint 'recent_orders' is not in config.toml [actions.endpoints]: slot 'order_id' offers no buttons"
            in about(found, "order_status", Severity.WARNING))
    assert about(found, "order_status", Severity.ERROR) == []


def test_without_endpoints_config_actions_are_named_not_probed(tmp_path):
    found = findings(with_order_action(tmp_path), None)
    assert about(found, "*", Severity.WARNING) == ["the config has no [actions.endpoints]: no action was checked"]
    assert not [f for f in found if f.severity == Severity.ERROR]


def test_any_http_answer_counts_even_an_error_status(tmp_path):
    async def refuse(_request: web.Request) -> web.Response:
        return web.Response(status=405, text="POST only")

    with endpoint(refuse) as url:
        found = findings(with_order_action(tmp_path), {"order_status": url})
    assert [f for f in found if f.severity == Severity.ERROR] == []


# --- templates ----------------------------------------------------------------------------------


def test_action_template_naming_an_unknown_field_is_an_error(tmp_path):
    root = with_order_action(tmp_path, _action(en="Order {order_id}: {state}"))
    assert [m for m in about(findings(root, None), "order_status", Severity.ERROR) if "{state}" in m] == [
        "[action.response] en names {state}, which nothing fills (known: contact, hours, order_id, shop, status, timezone)"
    ]


def test_static_response_may_name_only_shop_fields(tmp_path):
    root = make_domain(tmp_path / "data", {"order_status": _intent(EN, ZH, response="Ask {shop} about {order_id}")})
    assert about(findings(root, None), "order_status", Severity.ERROR) == [
        "[response] en names {order_id}, which nothing fills (known: contact, hours, shop, timezone)"
    ]


def test_static_response_that_does_not_parse_is_an_error(tmp_path):
    root = make_domain(tmp_path / "data", {"order_status": _intent(EN, ZH, response="Open {hours")})
    assert [m for m in about(findings(root, None), "order_status", Severity.ERROR) if m.startswith("[response] en:")]


def test_action_without_declared_fields_is_named_as_unchecked(tmp_path):
    root = with_order_action(tmp_path, _action(fields="[]"))
    assert [m for m in about(findings(root, None), "order_status", Severity.WARNING) if "fields" in m] == [
        "[action] declares no fields, so status in [action.response] cannot be checked against endpoint "
        "'order_status': list them in [action] fields"
    ]


# --- examples -----------------------------------------------------------------------------------


def test_too_few_examples_per_language_is_named(tmp_path):
    root = make_domain(tmp_path / "data", {"order_status": _intent(EN, ZH[:2])})
    thin = about(findings(root, None, min_examples=4), "order_status", Severity.WARNING)
    assert "2 zh examples, fewer than 4: the model cannot learn it well" in thin
    assert not [m for m in thin if "en examples" in m]


def test_near_duplicates_across_intents_say_which(tmp_path):
    root = make_domain(tmp_path / "data", {"order_status": _intent([*EN, "Hi, there"], ZH)})
    assert [f.message for f in findings(root, None) if "two answers" in f.message] == [
        "'hi there' is nearly 'Hi, there' of order_status: two answers taught for one question"
    ]


def test_examples_sharing_only_some_words_are_not_duplicates(tmp_path):
    root = make_domain(tmp_path / "data", {"order_status": _intent([*EN, "Hello there!"], ZH)})  # Jaccard 1/3
    assert [f for f in findings(root, None) if "two answers" in f.message] == []


def test_gold_nearly_repeating_training_is_a_leak(tmp_path):
    gold = {"greet": (["hello hello there friend", "Good morning, good morning!"], ["大家好"])}
    root = make_domain(tmp_path / "data", {}, gold)
    assert [m for m in about(findings(root, None), "greet", Severity.WARNING) if m.startswith("gold")] == [
        "gold example 'Good morning, good morning!' nearly repeats training example 'good morning' (greet): it flatters the score"
    ]


PRODUCTS_EN = ["lamp", "kettle", "sofa", "rug", "jacket", "boots", "blender", "speaker"]
PRODUCTS_ZH = ["台灯", "水壶", "沙发", "地毯", "夹克", "靴子", "搅拌机", "音箱"]


def _examples(templates: list[str], products: list[str]) -> list[str]:
    return [t.format(p) for t in templates for p in products]


TRACK_EN = _examples(["where is my {}", "has my {} shipped yet", "track the {} I ordered"], PRODUCTS_EN)
TRACK_ZH = _examples(["我的{}到哪了", "{}发货了吗", "查一下{}的物流"], PRODUCTS_ZH)
PAY_EN = _examples(["payment for the {} failed", "my card was declined buying the {}", "can I pay for a {} with paypal"],
                   PRODUCTS_EN)
PAY_ZH = _examples(["买{}时付款失败", "{}的银行卡支付被拒了", "能用支付宝买{}吗"], PRODUCTS_ZH)


def confused_pairs(root: Path) -> list[set[str]]:
    """The intent pairs reported as confusable ("confused with OTHER ..." on the finding of one)."""
    return [{f.intent, f.message.split()[2]} for f in findings(root, None) if "cross-validation" in f.message]


def test_confusable_pairs_come_from_cross_validation(tmp_path):
    # "tracking" is taught the same questions as "order_status" in other words: they get mixed up
    tracking = _intent([f"{t} now" for t in EN], [f"{t}呢" for t in ZH])
    root = make_domain(tmp_path / "data", {"order_status": _intent(EN, ZH), "tracking": tracking})
    assert confused_pairs(root)[0] == {"order_status", "tracking"}


def test_distinct_intents_are_not_reported_as_confusable(tmp_path):
    root = make_domain(tmp_path / "data", {"order_status": _intent(TRACK_EN, TRACK_ZH), "payment": _intent(PAY_EN, PAY_ZH)})
    assert {"order_status", "payment"} not in confused_pairs(root)


def test_similar_pairs_finds_what_comparing_every_pair_finds():
    rng = random.Random(0)
    vocabulary = [f"w{i}" for i in range(12)]
    sets = [frozenset(rng.sample(vocabulary, rng.randint(1, 11))) for _ in range(400)]
    sets += [s | {"w0"} for s in sets[:100]]  # near-duplicates on purpose
    brute = {(i, j) for i in range(len(sets)) for j in range(i + 1, len(sets))
             if len(sets[i] & sets[j]) >= NEAR_DUPLICATE * len(sets[i] | sets[j])}
    assert len(brute) > 100
    assert set(similar_pairs(sets, sets)) == brute


# --- the command --------------------------------------------------------------------------------


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot.cli", "domain", "check", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "SUPPORTBOT_VAR": ""})


def test_command_exits_1_on_an_error_and_reports_json(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/action"
    config = write_config(tmp_path, f'[actions.endpoints]\norder_status = "{url}"\n', data_dir=with_order_action(tmp_path))
    done = _cli(config, "--json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["errors"] == 1
    assert [(f["severity"], f["intent"]) for f in report["findings"] if f["severity"] == "error"] == [("error", "order_status")]


def test_command_exits_0_with_warnings_only_and_says_so(tmp_path):
    config = write_config(tmp_path, data_dir=make_domain(tmp_path / "data", {}))
    done = _cli(config, "--min-examples", "7")
    assert done.returncode == 0, done.stderr
    assert "warning greet: 6 en examples, fewer than 7" in done.stdout
    thin = [line for line in done.stdout.splitlines() if "fewer than 7" in line]
    assert len(thin) == 4  # greet and out_of_scope, each in both languages
    assert re.fullmatch(r"0 errors, \d+ warnings", done.stdout.splitlines()[-1])
