"""The use-case layer: admin actions are authorised and audited there, once, whichever channel asks."""

import io
import json

import pytest

from bot.replies import Incoming
from bot.runtime import open_runtime
from bot.usecases import conversation, data, models, review
from bot.usecases.access import Actor, NotAllowed
from storage.feedback import Feedback
from storage.registry import RegistryError

ADMIN = Actor("telegram:4242", admin=True)
CUSTOMER = Actor("telegram:777")


@pytest.fixture
def runtime(config):
    runtime = open_runtime(config)
    yield runtime
    runtime.close()


def audit_rows(runtime) -> list[tuple]:
    return [(a["actor"], a["action"], a["detail"], a["allowed"]) for a in runtime.db["audit"].rows]


def thumbs_down(runtime, text="where is my parcel") -> int:
    stored = runtime.engine.record(Incoming("telegram", "777", "777", text))
    runtime.engine.messages.add_reply(stored, "…", {"model_version": "v", "intent": "order_status", "confidence": 0.9,
                                                    "topk": [("order_status", 0.9)], "action": "answer"})
    Feedback(runtime.db).add(stored.id, positive=False)
    return stored.id


@pytest.mark.parametrize("call", [
    lambda rt: models.rollback(rt, CUSTOMER, None),
    lambda rt: models.status(rt, CUSTOMER, None),
    lambda rt: review.next_for_review(rt, CUSTOMER),
    lambda rt: data.purge(rt, CUSTOMER, 1),
    lambda rt: data.export(rt, CUSTOMER, io.StringIO()),
])
def test_a_non_admin_is_refused_audited_and_changes_nothing(runtime, call):
    with pytest.raises(NotAllowed):
        call(runtime)
    [(actor, _, detail, allowed)] = audit_rows(runtime)
    assert (actor, detail, allowed) == ("telegram:777", "", 0)


def test_a_refused_rollback_is_audited_with_the_reason(runtime):
    with pytest.raises(RegistryError):
        models.rollback(runtime, ADMIN, None)
    assert audit_rows(runtime) == [("telegram:4242", "rollback", "failed: no earlier model to roll back to", 1)]


def test_review_label_stores_an_admin_label_and_one_audit_row(runtime):
    message_id = thumbs_down(runtime)
    item = review.next_for_review(runtime, ADMIN)
    assert (item.message.id, item.guess, item.waiting, item.choices[-1]) == (message_id, "order_status", 1, "out_of_scope")
    review.label(runtime, ADMIN, message_id, "delivery_delayed")
    assert [(l["intent"], l["source"], l["labelled_by"]) for l in runtime.db["labels"].rows] == [
        ("delivery_delayed", "admin", "telegram:4242")]
    assert audit_rows(runtime) == [("telegram:4242", "review", f"message {message_id}", 1),
                                   ("telegram:4242", "review-label", f"{message_id}:delivery_delayed", 1)]
    assert review.next_for_review(runtime, ADMIN) is None


def test_review_refuses_an_unknown_intent_and_a_missing_message(runtime):
    message_id = thumbs_down(runtime)
    with pytest.raises(ValueError):
        review.label(runtime, ADMIN, message_id, "no_such_intent")
    with pytest.raises(KeyError):
        review.label(runtime, ADMIN, 10**6, "greet")
    assert runtime.db["labels"].count == 0
    assert [row[1:3] for row in audit_rows(runtime)] == [
        ("review-label", "failed: unknown intent 'no_such_intent'"), ("review-label", "failed: 'no incoming message 1000000'")]


def test_forget_is_audited_by_channel_only(runtime):
    thumbs_down(runtime)
    counts = conversation.forget(runtime, Actor("telegram"), "telegram", "777")
    assert counts["messages"] == 2 and counts["users"] == 1
    assert audit_rows(runtime) == [("telegram", "forget", json.dumps(counts), 1)]
    assert "777" not in json.dumps(audit_rows(runtime))


def test_an_import_with_a_bad_row_is_refused_whole_and_audited(runtime, tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("text,label\nwhere is my order,order_status\nhi,nope\n")
    with pytest.raises(data.ImportRefused) as refused:
        data.import_csv(runtime, ADMIN, path)
    assert [str(p) for p in refused.value.problems] == ["line 3: unknown label 'nope'"]
    assert runtime.db["labels"].count == 0
    assert audit_rows(runtime) == [("telegram:4242", "import", "failed: 1 bad row(s); nothing imported", 1)]


def test_export_and_purge_are_audited_with_counts(runtime):
    out = io.StringIO()
    assert data.export(runtime, ADMIN, out) == 0 and out.getvalue().splitlines() == ["text,label"]
    result = data.purge(runtime, ADMIN, 30)
    assert result["older_than_days"] == 30 and result["messages"] == 0
    assert audit_rows(runtime) == [("telegram:4242", "export", "0 rows to a stream", 1),
                                   ("telegram:4242", "purge", json.dumps(result), 1)]


def test_classify_before_any_model_says_so(runtime):
    with pytest.raises(models.NoModel):
        models.classify(runtime, ["hello"])
