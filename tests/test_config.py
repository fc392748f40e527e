"""Config is checked at load: every bad value stops the start with an error naming the file and the key.

Each test writes a real config.toml and reads it with load_config; the refusals come first.
"""

import dataclasses
import tomllib
from datetime import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, SHOP
from training.config import (
    SECTIONS,
    ActionsSettings,
    ConfigError,
    DemoShopSettings,
    EditedMessages,
    LrSchedule,
    TelegramMode,
    load_config,
)

DEMO_ACTIONS = ("order_status", "delivery_delayed", "refund_status", "product_availability", "recent_orders")


def config_file(tmp_path: Path, text: str) -> Path:
    """`text` as a config file, with the shop's contact the load requires unless `text` has a [shop]."""
    path = tmp_path / "config.toml"
    path.write_text(text if "[shop]" in text else text + "\n" + SHOP, encoding="utf-8")
    return path


def refusal(tmp_path: Path, text: str) -> str:
    """The error of loading `text`, without the file name it must start with."""
    path = config_file(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    return message.removeprefix(f"{path}: ")


# --- refused -----------------------------------------------------------------------------------

def test_a_misspelt_mode_is_refused_instead_of_running_polling(tmp_path):
    assert refusal(tmp_path, '[telegram]\nmode = "pollin"\n') == '[telegram] mode must be "polling" or "webhook", got "pollin"'


def test_a_misspelt_edited_messages_is_refused(tmp_path):
    message = refusal(tmp_path, '[telegram]\nedited_messages = "ignored"\n')
    assert message == '[telegram] edited_messages must be "answer" or "ignore", got "ignored"'


def test_an_admin_id_written_as_a_string_is_refused_as_it_would_never_match(tmp_path):
    message = refusal(tmp_path, '[telegram]\nadmin_ids = [4242, "123"]\n')
    assert message.startswith("[telegram] admin_ids must be a list of int") and message.endswith('got [4242, "123"]')


@pytest.mark.parametrize("ids", ["[true]", "[-100123]", "4242"])
def test_admin_ids_are_a_list_of_positive_user_ids(tmp_path, ids):
    assert refusal(tmp_path, f"[telegram]\nadmin_ids = {ids}\n").startswith("[telegram] admin_ids must be a list of")


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "../etc/passwd", "utc+2"])
def test_a_time_zone_that_zoneinfo_does_not_know_is_refused(tmp_path, zone):
    assert refusal(tmp_path, f'[telegram]\ntimezone = "{zone}"\n').startswith("[telegram] timezone must be a time zone name")


@pytest.mark.parametrize("schedule, reason", [("0 3 * *", "Wrong number of fields"), ("61 3 * * *", "61"), ("at night", "")])
def test_a_schedule_that_is_no_five_field_crontab_is_refused_at_start_not_at_night(tmp_path, schedule, reason):
    message = refusal(tmp_path, f'[learning]\nschedule = "{schedule}"\n')
    assert message.startswith('[learning] schedule must be a crontab "minute hour day month weekday"')
    assert reason in message and message.endswith(f'got "{schedule}"')


def test_suggest_above_confident_is_refused(tmp_path):
    message = refusal(tmp_path, "[policy]\nconfident = 0.5\nsuggest = 0.6\n")
    assert message == "[policy] suggest must be at most confident (0.5), got 0.6"


@pytest.mark.parametrize("table, key", [
    ("policy", "confident"), ("policy", "suggest"), ("policy", "min_suggestion"), ("clean", "majority"),
    ("learning", "prediction_confidence"), ("promotion", "tolerance"), ("promotion", "recall_floor"),
])
def test_a_probability_of_one_and_a_half_is_refused(tmp_path, table, key):
    assert refusal(tmp_path, f"[{table}]\n{key} = 1.5\n") == f"[{table}] {key} must be between 0 and 1, got 1.5"


@pytest.mark.parametrize("key, value, what", [
    ("dropout", "1.0", "below 1"), ("label_smoothing", "-0.1", "at least 0"),
    ("validation_fraction", "0", "above 0"), ("validation_fraction", "1", "below 1"),
])
def test_model_rates_and_the_validation_share_stay_inside_their_range(tmp_path, key, value, what):
    assert refusal(tmp_path, f"[model]\n{key} = {value}\n").startswith(f"[model] {key} must be {what}, got")


@pytest.mark.parametrize("table, key, value", [
    ("model", "max_len", 0), ("model", "batch_size", 0), ("model", "max_epochs", 0), ("model", "members", 0),
    ("model", "ngram_buckets", 1), ("model", "seed", -1), ("policy", "top_k", 0), ("policy", "max_suggestions", 0),
    ("telegram", "send_retries", 0), ("telegram", "rate_limit_seconds", 0), ("telegram", "webhook_port", 0),
    ("telegram", "webhook_port", 65536), ("limits", "max_pending_writes", 0), ("clean", "max_chars", 0),
    ("privacy", "retention_days", -1), ("learning", "misfire_grace_hours", 0),
    ("actions", "connect_timeout", 0), ("actions", "deadline", 0), ("actions", "retries", -1), ("actions", "backoff", -0.1),
    ("actions", "breaker_failures", 0), ("actions", "breaker_seconds", 0), ("actions", "max_response_bytes", 0),
    ("demo_shop", "port", 0), ("demo_shop", "port", 65536),
])
def test_counts_sizes_and_ports_out_of_range_are_refused(tmp_path, table, key, value):
    assert refusal(tmp_path, f"[{table}]\n{key} = {value}\n").startswith(f"[{table}] {key} must be ")


def test_webhook_mode_needs_an_https_url(tmp_path):
    expected = '[telegram] webhook_url must be an https:// URL when mode is "webhook", got '
    assert refusal(tmp_path, '[telegram]\nmode = "webhook"\n') == expected + '""'
    plain = '[telegram]\nmode = "webhook"\nwebhook_url = "http://bot.example/telegram"\n'
    assert refusal(tmp_path, plain) == expected + '"http://bot.example/telegram"'


@pytest.mark.parametrize("written", ['"4:30"', '"24:00"', '"04:60"', '"04:30:00"', "430", "04:30:00"])
def test_a_purge_time_that_is_not_hh_mm_is_refused(tmp_path, written):
    message = refusal(tmp_path, f"[privacy]\npurge_time = {written}\n")
    assert message.startswith('[privacy] purge_time must be "HH:MM" (24-hour clock')


@pytest.mark.parametrize("text, expected", [
    ("[model]\nmax_len = true\n", "[model] max_len must be int (a whole number), got true"),
    ("[model]\nmax_len = 3.5\n", "[model] max_len must be int (a whole number), got 3.5"),
    ("[telegram]\noutgoing_rate_limit = 1\n", "[telegram] outgoing_rate_limit must be bool (true or false), got 1"),
    ('[model]\nlr_schedule = "linear"\n', '[model] lr_schedule must be "cosine" or "constant", got "linear"'),
    ('[telegram]\napi_base_url = "localhost:8081/bot"\n', '[telegram] api_base_url must be empty or an http:// or https:// URL, '
                                                          'got "localhost:8081/bot"'),
    ('[paths]\nvar_dir = ""\n', '[paths] var_dir must be not empty, got ""'),
])
def test_wrong_types_and_values_name_the_key(tmp_path, text, expected):
    assert refusal(tmp_path, text) == expected


@pytest.mark.parametrize("text, expected", [
    ("[telegarm]\nmode = \"polling\"\n", "unknown table(s): [telegarm]"),
    ("[paths]\nvar = \"state\"\n", "unknown key(s) in [paths]: var"),
    ("[policy]\nconfidence = 0.7\n", "unknown key(s) in [policy]: confidence"),
    ("policy = 0.7\n", "[policy] must be a table, got 0.7"),
])
def test_unknown_tables_and_keys_are_refused(tmp_path, text, expected):
    assert refusal(tmp_path, text) == expected


def test_every_number_in_the_config_has_a_rule():
    """A new numeric key without a range would load anything again."""
    for cls in SECTIONS.values():
        for f in dataclasses.fields(cls):
            if f.type in ("int", "float"):
                assert f.metadata.get("rules"), f"{cls.__name__}.{f.name}"


# --- accepted ----------------------------------------------------------------------------------

def test_values_are_converted_to_their_types_at_load(tmp_path):
    path = config_file(tmp_path, """
[model]
lr_schedule = "constant"
[telegram]
mode = "webhook"
webhook_url = "https://bot.example/telegram"
edited_messages = "ignore"
admin_ids = [4242, 17]
timezone = "Europe/Berlin"
rate_limit_seconds = 3
[privacy]
purge_time = "23:05"
""")
    config = load_config(path)
    assert config.model.lr_schedule is LrSchedule.CONSTANT
    assert config.telegram.mode is TelegramMode.WEBHOOK and config.telegram.edited_messages is EditedMessages.IGNORE
    assert config.telegram.admin_ids == (4242, 17)
    assert config.telegram.rate_limit_seconds == 3.0 and isinstance(config.telegram.rate_limit_seconds, float)
    assert config.privacy.purge_time == time(23, 5)


def test_a_local_bot_api_server_may_take_an_http_webhook(tmp_path):
    path = config_file(tmp_path, '[telegram]\nmode = "webhook"\napi_base_url = "http://127.0.0.1:8081/bot"\n'
                                 'webhook_url = "http://127.0.0.1:8443/telegram"\n')
    assert load_config(path).telegram.webhook_url == "http://127.0.0.1:8443/telegram"


def test_zero_is_accepted_where_it_switches_something_off(tmp_path):
    path = config_file(tmp_path, "[privacy]\nretention_days = 0\n[clean]\nmax_per_intent = 0\nmin_tokens = 0\n"
                                 "[promotion]\nrecall_floor = 0\ntolerance = 0\n[model]\npatience = 0\n")
    config = load_config(path)
    assert (config.privacy.retention_days, config.clean.max_per_intent, config.promotion.recall_floor) == (0, 0, 0.0)


def test_the_shipped_config_loads_with_its_enums_and_writes_every_key_at_its_default():
    config = load_config(ROOT / "config.toml")
    assert type(config.telegram.mode) is TelegramMode and type(config.telegram.edited_messages) is EditedMessages
    assert type(config.model.lr_schedule) is LrSchedule
    assert config.telegram.admin_ids == () and config.privacy.purge_time == time(4, 30)
    with (ROOT / "config.toml").open("rb") as fh:
        written = tomllib.load(fh)
    for name, cls in SECTIONS.items():
        assert written[name].keys() == {f.name for f in dataclasses.fields(cls)}, name
        if name not in ("shop", "actions", "demo_shop"):  # the shop's own name and contact are the owner's to write
            assert getattr(config, name) == cls(), name
    # The shipped config turns the demo on (defaults leave it off) and points the actions at it.
    assert dataclasses.replace(config.actions, endpoints={}) == ActionsSettings()
    assert config.actions.endpoints == {name: f"http://127.0.0.1:8765/actions/{name}" for name in DEMO_ACTIONS}
    assert config.demo_shop == DemoShopSettings(start=True)


@pytest.mark.parametrize("shop, error", [
    ('[shop]\nname = "Acme"\n', "[shop] email must be set (or phone, or url): customers need one way to reach the shop"),
    ('[shop]\nemail = "support at acme"\n', "[shop] email must be empty or an e-mail address"),
    ('[shop]\nphone = "call us"\n', "[shop] phone must be empty or a phone number"),
    ('[shop]\nemail = "a@b.co"\nurl = "acme.example"\n', "[shop] url must be empty or an http:// or https:// URL"),
    ('[shop]\nemail = "a@b.co"\ntimezone = "Mars/Olympus"\n', "[shop] timezone must be a time zone name"),
    ('[shop]\nemail = "a@b.co"\ndefault_language = "fr"\n', '[shop] default_language must be "en" or "zh"'),
])
def test_the_shop_must_say_how_customers_reach_a_person(tmp_path, shop, error):
    assert refusal(tmp_path, shop).startswith(error)


def test_the_shops_contact_lists_what_is_set(tmp_path):
    shop = load_config(config_file(tmp_path, '[shop]\nemail = "a@b.co"\nurl = "https://acme.example/help"\n')).shop
    assert shop.contact == "a@b.co\nhttps://acme.example/help"


# --- [handoff] ---------------------------------------------------------------------------------

@pytest.mark.parametrize("entry", ["mon-fri 9-18", "weekdays 09:00-18:00", "mon 09:00-25:00", "sat 10:00-10:00"])
def test_staff_hours_are_checked_at_load_and_the_wrong_entry_is_named(tmp_path, entry):
    message = refusal(tmp_path, f'[handoff]\nhours = ["mon-fri 09:00-18:00", "{entry}"]\n')
    assert message.startswith('[handoff] hours must be a list of "<days> HH:MM-HH:MM" such as ')
    assert f'("{entry}" ' in message and message.endswith(f'got ["mon-fri 09:00-18:00", "{entry}"]')


@pytest.mark.parametrize("written", ['"mon-fri 09:00-18:00"', '["mon-fri 09:00-18:00", 9]', "[[\"mon\"]]"])
def test_staff_hours_are_a_list_of_texts(tmp_path, written):
    assert refusal(tmp_path, f"[handoff]\nhours = {written}\n").startswith("[handoff] hours must be a list of str")


@pytest.mark.parametrize("text, start", [
    ("staff_chat_id = 1234567", "[handoff] staff_chat_id must be 0 (no staff group) or a group's id, which is negative"),
    ('staff_chat_id = "-1001234567890"', "[handoff] staff_chat_id must be int"),
    ("fallbacks_in_a_row = -1", "[handoff] fallbacks_in_a_row must be at least 0"),
    ("thumbs_down_in_a_row = -1", "[handoff] thumbs_down_in_a_row must be at least 0"),
    ("reply_within_minutes = -5", "[handoff] reply_within_minutes must be at least 0"),
    ("release_after_hours = 0", "[handoff] release_after_hours must be above 0"),
    ("estimate_min_handoffs = 0", "[handoff] estimate_min_handoffs must be at least 1"),
    ("transcript_messages = 0", "[handoff] transcript_messages must be at least 1"),
    ("check_seconds = 0", "[handoff] check_seconds must be above 0"),
    ("on_button = 1", "[handoff] on_button must be bool"),
    ("staff_chat = -100123", "unknown key(s) in [handoff]: staff_chat"),
])
def test_handoff_values_out_of_range_are_refused(tmp_path, text, start):
    assert refusal(tmp_path, f"[handoff]\n{text}\n").startswith(start)


def test_handoff_settings_are_converted_and_zero_switches_a_trigger_off(tmp_path):
    path = config_file(tmp_path, """
[handoff]
staff_chat_id = -1001234567890
hours = ["Mon-Fri 09:00-18:00", "sat 10:00-14:00", "fri 22:00-02:00"]
fallbacks_in_a_row = 0
thumbs_down_in_a_row = 0
reply_within_minutes = 0
release_after_hours = 2
on_command = false
""")
    handoff = load_config(path).handoff
    assert handoff.staff_chat_id == -1001234567890
    assert handoff.hours == ("Mon-Fri 09:00-18:00", "sat 10:00-14:00", "fri 22:00-02:00")
    assert (handoff.fallbacks_in_a_row, handoff.thumbs_down_in_a_row, handoff.reply_within_minutes) == (0, 0, 0)
    assert handoff.release_after_hours == 2.0 and isinstance(handoff.release_after_hours, float)
    assert handoff.on_command is False and handoff.on_request and handoff.on_button


def test_without_a_handoff_table_there_is_no_staff_group_and_staff_are_always_in(tmp_path):
    handoff = load_config(config_file(tmp_path, "")).handoff
    assert handoff.staff_chat_id == 0 and handoff.hours == ()


# --- [actions] and [demo_shop] -------------------------------------------------------------------

@pytest.mark.parametrize("endpoints, expected", [
    ('endpoints = "http://shop.example/actions"', '[actions] endpoints must be a table of name = "text"'),
    ("[actions.endpoints]\norder_status = 8765", '[actions] endpoints must be a table of name = "text"'),
    ('[actions.endpoints]\n"order status" = "http://shop.example/a"',
     'whose names are identifiers such as order_status ("order status" is not)'),
    ('[actions.endpoints]\nok = "http://shop.example/a"\nstock = "shop.example/stock"',
     '[actions] endpoints must be a table of name = "http(s) URL" (stock is no http:// or https:// URL)'),
    ('[actions.endpoints]\nstock = "ftp://shop.example/stock"', "(stock is no http:// or https:// URL)"),
    ('[actions.endpoints]\nstock = "https://"', "(stock is no http:// or https:// URL)"),
])
def test_action_endpoints_must_be_named_http_urls(tmp_path, endpoints, expected):
    message = refusal(tmp_path, f"[actions]\n{endpoints}\n")
    assert expected in message, message


def test_an_action_connect_timeout_beyond_the_deadline_is_refused(tmp_path):
    message = refusal(tmp_path, "[actions]\nconnect_timeout = 5\ndeadline = 4\n")
    assert message == "[actions] connect_timeout must be at most deadline (4.0), got 5.0"


@pytest.mark.parametrize("database", ["", "../demo.db", "/tmp/demo.db", "shop/../../demo.db", "C:/demo.db", "\\\\server\\demo.db"])
def test_the_demo_shop_database_must_stay_under_var_dir(tmp_path, database):
    written = database.replace("\\", "\\\\")
    message = refusal(tmp_path, f'[demo_shop]\ndatabase = "{written}"\n')
    assert message.startswith('[demo_shop] database must be a file name under var_dir (relative, no "..")'), message


@pytest.mark.parametrize("text, start", [
    ('[demo_shop]\nstart = "yes"\n', "[demo_shop] start must be bool"),
    ('[demo_shop]\nhost = " "\n', "[demo_shop] host must be not empty"),
    ('[demo_shop]\nsecret = "s3cret"\n', "unknown key(s) in [demo_shop]: secret"),
    ('[actions]\nsecret = "s3cret"\n', "unknown key(s) in [actions]: secret"),
])
def test_demo_shop_and_action_values_of_the_wrong_kind_are_refused(tmp_path, text, start):
    assert refusal(tmp_path, text).startswith(start)


def test_action_settings_are_converted_and_without_the_tables_there_are_no_actions_and_no_demo(tmp_path):
    path = config_file(tmp_path, '[actions]\ndeadline = 3\nretries = 0\n[actions.endpoints]\nstock = "https://shop.example/s"\n'
                                 '[demo_shop]\nstart = true\nport = 9000\ndatabase = "demo/shop.db"\n')
    config = load_config(path)
    assert config.actions.deadline == 3.0 and isinstance(config.actions.deadline, float) and config.actions.retries == 0
    assert config.actions.endpoints == {"stock": "https://shop.example/s"}
    assert config.demo_shop_db == config.var_dir / "demo" / "shop.db" and config.demo_shop.port == 9000
    bare = load_config(config_file(tmp_path, ""))
    assert bare.actions.endpoints == {} and bare.demo_shop.start is False
