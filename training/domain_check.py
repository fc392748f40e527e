"""`supportbot domain check`: what a shop owner must fix in data/ before the bot serves it.

`load_domain` already refuses what cannot work (broken files, unknown entity types, a template
that does not parse). This looks for what works badly:
- intents with too few examples in a language: the model cannot learn them;
- near-duplicate examples in two intents (the same words, Jaccard of token sets at least 0.9):
  the model is taught two answers to one question;
- gold examples that nearly repeat a training example: the gold score flatters the model (exact
  repeats already fail to load);
- confusable pairs: intents that cross-validation mixes up most. A TF-IDF over character n-grams
  with a linear SVM (5-fold `cross_val_predict`) stands in for the LSTM: it confuses the same
  pairs, since both read the same examples, and takes about 10 s on the starter domain's 12,000
  examples (0.90 accuracy) where training the LSTM five times takes many minutes;
- templates naming fields nobody fills ([shop] fields, the intent's slots, the fields its action
  declares): the bot would fall back to the static answer for every customer;
- actions (and slots' `choices`) whose endpoint is not configured, or does not answer (any HTTP response counts).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

import httpx

from training.domain import LANGUAGES, SHOP_FIELDS, Domain, Example, Intent, template_fields
from training.tokenize import tokenize

NEAR_DUPLICATE = 0.9  # Jaccard of normalised token sets
FOLDS = 5
PROBE_TIMEOUT = 2.0  # seconds, for each endpoint
_MIN_CONFUSIONS = 3  # pairs mixed up fewer times (both ways together) are noise
ALL = "*"  # Finding.intent when a finding is about the whole domain


class Severity(StrEnum):
    ERROR = "error"  # the bot answers wrongly or not at all: fix before serving
    WARNING = "warning"  # the bot answers worse than it could


@dataclass(frozen=True)
class Finding:
    severity: Severity
    intent: str
    message: str


def check_domain(
    domain: Domain,
    endpoints: Mapping[str, str] | None,
    *,
    min_examples: int = 20,
    confusable: int = 5,
) -> list[Finding]:
    """Everything found, errors first. `endpoints`: config.toml [actions.endpoints], name -> URL;
    None when the config has none, and then actions are not probed. `confusable`: how many of the
    most confused intent pairs to report."""
    findings = [
        *too_few_examples(domain, min_examples),
        *duplicates_across_intents(domain),
        *gold_leaks(domain),
        *confusable_pairs(domain, confusable),
        *unknown_template_fields(domain),
        *unanswered_actions(domain, endpoints),
    ]
    return sorted(findings, key=lambda f: f.severity != Severity.ERROR)


def too_few_examples(domain: Domain, minimum: int) -> Iterable[Finding]:
    for intent in domain.intents.values():
        for lang in LANGUAGES:
            if len(intent.examples[lang]) < minimum:
                message = f"{len(intent.examples[lang])} {lang} examples, fewer than {minimum}: the model cannot learn it well"
                yield Finding(Severity.WARNING, intent.name, message)


def duplicates_across_intents(domain: Domain) -> Iterable[Finding]:
    examples = domain.training_examples()
    sets = [_token_set(e.text) for e in examples]
    for i, j in similar_pairs(sets, sets):
        a, b = examples[i], examples[j]
        if a.intent != b.intent:
            message = f"{a.text!r} is nearly {b.text!r} of {b.intent}: two answers taught for one question"
            yield Finding(Severity.WARNING, a.intent, message)


def gold_leaks(domain: Domain) -> Iterable[Finding]:
    trained = domain.training_examples()
    for i, j in similar_pairs([_token_set(e.text) for e in domain.gold], [_token_set(e.text) for e in trained]):
        gold, train = domain.gold[i], trained[j]
        message = f"gold example {gold.text!r} nearly repeats training example {train.text!r} ({train.intent}): it flatters the score"
        yield Finding(Severity.WARNING, gold.intent, message)


def _token_set(text: str) -> frozenset[str]:
    return frozenset(tokenize(text))


def similar_pairs(left: list[frozenset[str]], right: list[frozenset[str]]) -> Iterable[tuple[int, int]]:
    """(i, j) with Jaccard(left[i], right[j]) >= NEAR_DUPLICATE; for `left is right`, i < j only.

    Prefix filtering (Chaudhuri et al. 2006; Bayardo et al., "All-Pairs"): with tokens ordered
    rarest first, two sets that similar share a token among their first |s| - ceil(t|s|) + 1, so
    only sets indexed under one of those are compared. Ten thousand examples take well under a
    second instead of fifty million comparisons.
    """
    frequency = Counter(t for s in (*left, *right) for t in s)
    ordered = [sorted(s, key=lambda t: (frequency[t], t)) for s in right]
    index: dict[str, list[int]] = defaultdict(list)
    for j, tokens in enumerate(ordered):
        for token in tokens[: _prefix(len(tokens))]:
            index[token].append(j)
    same = left is right
    for i, s in enumerate(left):
        tokens = sorted(s, key=lambda t: (frequency[t], t))
        candidates = {j for token in tokens[: _prefix(len(tokens))] for j in index[token] if not same or j > i}
        for j in sorted(candidates):
            if len(s & right[j]) >= NEAR_DUPLICATE * len(s | right[j]):
                yield i, j


def _prefix(size: int) -> int:
    return size - math.ceil(NEAR_DUPLICATE * size) + 1


def confusable_pairs(domain: Domain, most: int) -> Iterable[Finding]:
    examples = domain.training_examples()
    predicted = cross_validated_predictions(examples)
    if predicted is None:
        yield Finding(Severity.WARNING, ALL, f"confusable pairs not checked: some intent has fewer than 2 examples for {FOLDS}-fold CV")
        return
    mixed: Counter[tuple[str, str]] = Counter()
    sample: dict[tuple[str, str], Example] = {}
    for example, guess in zip(examples, predicted):
        if guess != example.intent:
            mixed[example.intent, guess] += 1
            sample.setdefault((example.intent, guess), example)
    pairs = Counter({(a, b): mixed[a, b] + mixed[b, a] for a, b in {tuple(sorted(k)) for k in mixed}})
    for (a, b), total in pairs.most_common(most):
        if total < _MIN_CONFUSIONS:
            break
        hint = sample.get((a, b)) or sample[b, a]
        message = (f"confused with {b} {total} times in {FOLDS}-fold cross-validation ({mixed[a, b]} of {a}'s examples "
                   f"read as {b}, {mixed[b, a]} the other way), e.g. {hint.text!r} ({hint.intent}): "
                   "sharpen the examples or the boundary comment of both")
        yield Finding(Severity.WARNING, a, message)


def cross_validated_predictions(examples: list[Example]) -> list[str] | None:
    """Each example's intent as predicted by a model that never saw it; None when too few examples."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    labels = [e.intent for e in examples]
    folds = min(FOLDS, min(Counter(labels).values()))
    if folds < 2:
        return None
    vectoriser = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), min_df=2, sublinear_tf=True)
    model = make_pipeline(vectoriser, LinearSVC(C=0.5, tol=1e-2))  # ~10 s on the starter domain, 0.90 accuracy
    split = StratifiedKFold(folds, shuffle=True, random_state=0)
    return list(cross_val_predict(model, [e.text for e in examples], labels, cv=split))


def unknown_template_fields(domain: Domain) -> Iterable[Finding]:
    for intent in domain.intents.values():
        yield from _fields_of(intent, "[response]", intent.response, set(SHOP_FIELDS))
        if intent.action is not None:
            known = {*SHOP_FIELDS, *intent.requires, *intent.action.fields}
            if not intent.action.fields:
                named = sorted({f for t in intent.action.response.values() for f in template_fields(t)} - known)
                message = (f"[action] declares no fields, so {', '.join(named)} in [action.response] cannot be checked "
                           f"against endpoint {intent.action.endpoint!r}: list them in [action] fields")
                yield Finding(Severity.WARNING, intent.name, message)
            else:
                yield from _fields_of(intent, "[action.response]", intent.action.response, known)


def _fields_of(intent: Intent, label: str, templates: Mapping[str, str], known: set[str]) -> Iterable[Finding]:
    for lang, template in templates.items():
        try:
            named = template_fields(template)
        except ValueError as exc:
            yield Finding(Severity.ERROR, intent.name, f"{label} {lang}: {exc}")
            continue
        for name in sorted(set(named) - known):
            message = f"{label} {lang} names {{{name}}}, which nothing fills (known: {', '.join(sorted(known))})"
            yield Finding(Severity.ERROR, intent.name, message)


def unanswered_actions(domain: Domain, endpoints: Mapping[str, str] | None) -> Iterable[Finding]:
    """Each endpoint the domain calls: an action's (missing: the static answer is all it gets) and a slot's
    `choices` (missing: a linked customer types the value instead of picking it)."""
    called = [(i.name, i.action.endpoint, Severity.ERROR, "the static answer is all it gets")
              for i in domain.intents.values() if i.action is not None]
    called += [(i.name, s.choices, Severity.WARNING, f"slot {s.name!r} offers no buttons")
               for i in domain.intents.values() for s in i.slots.values() if s.choices]
    if called and endpoints is None:
        yield Finding(Severity.WARNING, ALL, "the config has no [actions.endpoints]: no action was checked")
        return
    problems: dict[str, str | None] = {}  # each URL probed once: several intents may share a dead endpoint
    for name, endpoint, severity, without in called:
        url = (endpoints or {}).get(endpoint)
        if url is None:
            yield Finding(severity, name, f"endpoint {endpoint!r} is not in config.toml [actions.endpoints]: {without}")
            continue
        if url not in problems:
            problems[url] = answers(url)
        if (problem := problems[url]) is not None:
            yield Finding(severity, name, f"endpoint {endpoint!r} at {url} does not answer: {problem}")


def answers(url: str) -> str | None:
    """None when `url` gives any HTTP response within PROBE_TIMEOUT; else why not."""
    try:
        httpx.get(url, timeout=PROBE_TIMEOUT)
    except httpx.TimeoutException:
        return f"no response within {PROBE_TIMEOUT:g} s"
    except httpx.HTTPError as exc:
        return type(exc).__name__ + (f" ({exc})" if str(exc) else "")
    return None
