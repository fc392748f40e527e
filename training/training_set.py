"""The cleaned, encoded training set as sharded TFRecord files with a manifest: what training reads.

Every training run, on one machine or many, first writes its examples here and then trains from
these files through `tf.data`, so the trainer's memory does not grow with the training set, and
workers on other machines need only this directory (they never open the database).

    DIR/encoder.json, DIR/labels.json
    DIR/train-00000-of-00008.tfrecord ...   the fit part, shuffled once by the seed, dealt round-robin
    DIR/validation-00000-of-00001.tfrecord  the part training holds out to choose the best epoch
    DIR/manifest.json                       written last: its presence means the set is complete

Each record holds `token_ids` (max_len ints), `ngram_ids` (max_ngrams ints) and `label`. The manifest
names the examples' hash (`training.train.data_hash`, the same the in-memory path computes), the
encoded content's hash, and every shard's row count and SHA-256, so a reader refuses a set that is
partial, altered or encoded with other settings.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
from sklearn.model_selection import train_test_split

from training.config import ModelSettings
from training.domain import Example
from training.tokenize import Encoder

MANIFEST = "manifest.json"
FORMAT = 1


class TrainingSetError(Exception):
    """A training set that is missing, partial, altered, or made with other settings."""


@dataclass(frozen=True)
class Shard:
    file: str
    examples: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    directory: Path
    data_hash: str  # of the examples' (text, intent) pairs: training.train.data_hash
    encoded_hash: str  # of the encoded rows, in file order
    labels: list[str]
    n_examples: int
    train: list[Shard]
    validation: list[Shard]
    settings: dict  # the ModelSettings it was encoded with

    @property
    def n_train(self) -> int:
        return sum(s.examples for s in self.train)

    @property
    def n_validation(self) -> int:
        return sum(s.examples for s in self.validation)

    def encoder(self) -> Encoder:
        return Encoder.load(self.directory / "encoder.json")


def data_hash(examples: list[Example]) -> str:
    """The examples' identity, independent of their order."""
    digest = hashlib.sha256()
    for text, intent in sorted((e.text, e.intent) for e in examples):
        digest.update(f"{intent}\t{text}\n".encode())
    return digest.hexdigest()[:16]


def split_rows(y: np.ndarray, s: ModelSettings) -> tuple[np.ndarray, np.ndarray]:
    """(fit rows, validation rows) of examples labelled `y`: the part early stopping watches.

    Stratified when the split can hold every class and every class can spare an example (small
    data with many intents cannot), plain otherwise. The benchmark re-creates this split
    (`training.benchmark.data.validation_indices`) to hold the same examples out of its baselines."""
    counts = np.bincount(y)
    counts = counts[counts > 0]
    fits = math.ceil(len(y) * s.validation_fraction) >= len(counts) and counts.min() >= 2
    rows = np.arange(len(y))
    return tuple(train_test_split(rows, test_size=s.validation_fraction, random_state=s.seed,
                                  stratify=y if fits else None))


def _record(ids: list[int], grams: list[int], label: int) -> bytes:
    feature = {
        "token_ids": tf.train.Feature(int64_list=tf.train.Int64List(value=ids)),
        "ngram_ids": tf.train.Feature(int64_list=tf.train.Int64List(value=grams)),
        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def _write_part(directory: Path, part: str, rows: Iterator[tuple[list[int], list[int], int]], shards: int,
                content: Any) -> list[Shard]:
    """Rows dealt round-robin into `shards` files, so every shard holds a like mix of intents."""
    names = [f"{part}-{i:05d}-of-{shards:05d}.tfrecord" for i in range(shards)]
    counts = [0] * shards
    writers = [tf.io.TFRecordWriter(str(directory / name)) for name in names]
    for n, (ids, grams, label) in enumerate(rows):
        record = _record(ids, grams, label)
        content.update(record)
        writers[n % shards].write(record)
        counts[n % shards] += 1
    for writer in writers:
        writer.close()
    return [Shard(name, count, _sha256(directory / name)) for name, count in zip(names, counts, strict=True)]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export(examples: list[Example], s: ModelSettings, directory: Path, shards: int = 1) -> Manifest:
    """Encode `examples` and write them as a training set in `directory` (created, must be empty).

    The fit part is shuffled once by the seed before it is dealt, so a reader's bounded shuffle
    buffer still mixes intents. Rows are encoded as they are written: one at a time in memory."""
    if shards < 1:
        raise ValueError("a training set needs at least one shard")
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.iterdir()):
        raise TrainingSetError(f"{directory} is not empty")
    labels = sorted({e.intent for e in examples})
    index = {label: i for i, label in enumerate(labels)}
    encoder = Encoder.build((e.text for e in examples), s.max_vocab, s.max_len, s.ngram_buckets, s.max_ngrams)
    encoder.save(directory / "encoder.json")
    (directory / "labels.json").write_text(json.dumps(labels, ensure_ascii=False))
    y = np.array([index[e.intent] for e in examples])
    fit_rows, val_rows = split_rows(y, s)
    fit_rows = np.random.default_rng(s.seed).permutation(fit_rows)
    content = hashlib.sha256()

    def encoded(rows: np.ndarray) -> Iterator[tuple[list[int], list[int], int]]:
        return ((*encoder.encode(examples[r].text), int(y[r])) for r in rows)

    train = _write_part(directory, "train", encoded(fit_rows), min(shards, max(1, len(fit_rows))), content)
    validation = _write_part(directory, "validation", encoded(val_rows), 1, content)
    manifest = Manifest(directory, data_hash(examples), content.hexdigest()[:16], labels, len(examples), train,
                        validation, asdict(s))
    _write_manifest(manifest)
    return manifest


def _write_manifest(m: Manifest) -> None:
    """Written last and atomically: a set without its manifest is incomplete and never read."""
    body = {"format": FORMAT, "data_hash": m.data_hash, "encoded_hash": m.encoded_hash, "labels": m.labels,
            "n_examples": m.n_examples, "train": [asdict(s) for s in m.train],
            "validation": [asdict(s) for s in m.validation], "settings": m.settings}
    scratch = m.directory / f"{MANIFEST}.tmp"
    scratch.write_text(json.dumps(body, indent=1, ensure_ascii=False))
    scratch.replace(m.directory / MANIFEST)


def load(directory: Path, s: ModelSettings | None = None, verify: bool = True) -> Manifest:
    """The training set in `directory`; refused when incomplete, altered (`verify` re-hashes every
    shard) or, given `s`, encoded with other [model] settings than the ones about to train on it."""
    path = directory / MANIFEST
    try:
        body = json.loads(path.read_text())
    except FileNotFoundError:
        raise TrainingSetError(f"{directory}: no {MANIFEST}: not a training set, or one still being written") from None
    except json.JSONDecodeError as exc:
        raise TrainingSetError(f"{path}: {exc}") from None
    if body.get("format") != FORMAT:
        raise TrainingSetError(f"{path}: format {body.get('format')!r}, this version reads {FORMAT}")
    manifest = Manifest(directory, body["data_hash"], body["encoded_hash"], body["labels"], body["n_examples"],
                        [Shard(**x) for x in body["train"]], [Shard(**x) for x in body["validation"]], body["settings"])
    if s is not None and _encoding(manifest.settings) != _encoding(asdict(s)):
        raise TrainingSetError(f"{directory}: encoded with other [model] settings than these")
    if verify:
        for shard in manifest.train + manifest.validation:
            _check(directory, shard)
    return manifest


def _encoding(settings: dict) -> dict:
    """The settings that change what the files hold."""
    keys = ("max_len", "max_vocab", "ngram_buckets", "max_ngrams", "validation_fraction", "seed")
    return {k: settings[k] for k in keys}


def _check(directory: Path, shard: Shard) -> None:
    path = directory / shard.file
    if not path.exists():
        raise TrainingSetError(f"{path}: missing")
    if _sha256(path) != shard.sha256:
        raise TrainingSetError(f"{path}: its contents differ from the manifest's")


def _parse(s: dict) -> Any:
    spec = {"token_ids": tf.io.FixedLenFeature([s["max_len"]], tf.int64),
            "ngram_ids": tf.io.FixedLenFeature([s["max_ngrams"]], tf.int64),
            "label": tf.io.FixedLenFeature([], tf.int64)}

    def parse(record: tf.Tensor) -> tuple[tuple[tf.Tensor, tf.Tensor], tf.Tensor]:
        row = tf.io.parse_single_example(record, spec)
        return (tf.cast(row["token_ids"], tf.int32), tf.cast(row["ngram_ids"], tf.int32)), tf.cast(row["label"], tf.int32)

    return parse


def fit_dataset(m: Manifest, batch_size: int, seed: int, shuffle_buffer: int = 10_000) -> tf.data.Dataset:
    """The fit part, repeated forever, reshuffled each pass, batched by the *global* batch size.

    A list of files, so a multi-worker strategy gives each worker its own shards (auto-shard by
    file: the export writes at least one per machine); repeated, so every worker can take the same
    number of steps per epoch however its shards divide. Memory: the shuffle buffer and a few
    batches, whatever the set's size."""
    files = [str(m.directory / s.file) for s in m.train]
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.FILE
    return (tf.data.Dataset.from_tensor_slices(files)
            .interleave(tf.data.TFRecordDataset, cycle_length=len(files), num_parallel_calls=1, deterministic=True)
            .map(_parse(m.settings), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
            .shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
            .repeat()
            .batch(batch_size)
            .prefetch(2)
            .with_options(options))


def validation_dataset(m: Manifest, batch_size: int) -> tf.data.Dataset:
    """The validation part in order, batched: every worker reads it whole (it is small) and scores it alike."""
    files = [str(m.directory / s.file) for s in m.validation]
    return tf.data.TFRecordDataset(files).map(_parse(m.settings)).batch(batch_size)


def rows(m: Manifest, part: str = "train") -> Iterator[tuple[list[int], list[int], int]]:
    """Every row of a part as written (file by file): for checks and tests, not for training."""
    for shard in getattr(m, part):
        for (ids, grams), label in tf.data.TFRecordDataset(str(m.directory / shard.file)).map(_parse(m.settings)):
            yield ids.numpy().tolist(), grams.numpy().tolist(), int(label)
