"""The semantic index of past messages: WordLlama vectors in a usearch HNSW graph, by message id.

A derived artifact (``Paths.memory_index``): the database is the truth, so the file is caught
up from it (:meth:`MessageIndex.catch_up`, through ``Store.messages_after``) and rebuilt from
it when missing, unreadable or made with other settings (a one-line notice, never a crash).
A sidecar ``.json`` keeps the settings and how far the index got in the message table.

Settings (measured by ``bench/memory.py --tune``, docs/benchmarks.md ``memory_index``): all of
WordLlama's 256 dimensions, stored as ``i8``. Cutting to 128 or 64 (Matryoshka) lost a
quarter to a half of the true neighbours for no speed, ``b1`` lost more than half, and ``i8``
matched ``f16``/``f32`` recall at half their memory and the fastest search. Hits are
re-checked by the caller against the database and re-scored exactly, so the graph only has
to get the right messages into its top few dozen.

:class:`_Ann` is the one place that touches usearch (keys, bit packing, distance → similarity).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from feedback.store.search import MessageBatch

FloatArray = npt.NDArray[np.float32]
FORMAT = 1
DIMS = 256
DTYPE = "i8"
EMBED_CHARS = 1000
"""WordLlama averages its tokens: past a paragraph, more text only blurs the vector."""
CATCH_UP_BATCH = 4096
SAVE_EVERY = 2000
"""Unsaved additions before the file is written again; a crash before that only costs
re-embedding them (the sidecar's watermark is the saved one)."""


class TextEmbedder(Protocol):
    """Unit-length sentence vectors, one row per text (``companion.safety.semantic.Embedder``)."""

    def embed(self, texts: Sequence[str]) -> FloatArray: ...


class MessageSource(Protocol):
    """What the index reads from the database (``feedback.repo.Store``)."""

    def messages_after(self, last_id: int, limit: int) -> MessageBatch: ...

    def max_message_id(self) -> int: ...


@dataclass(frozen=True, slots=True)
class IndexSettings:
    dims: int = DIMS
    dtype: str = DTYPE
    """usearch scalar kind: ``f32``, ``f16``, ``i8`` (cosine) or ``b1`` (sign bits, Hamming)."""
    connectivity: int = 16
    expansion_add: int = 128
    expansion_search: int = 64


def reduce(vectors: FloatArray, dims: int) -> FloatArray:
    """The first `dims` dimensions, back to unit length (pure; zero rows stay zero)."""
    cut = np.ascontiguousarray(vectors[:, :dims], dtype=np.float32)
    norms = np.linalg.norm(cut, axis=1, keepdims=True)
    out: FloatArray = np.divide(cut, norms, out=np.zeros_like(cut), where=norms > 0)
    return out


def notice_to_stderr(line: str) -> None:
    sys.stderr.write(f"companion: {line}\n")


class _Ann:
    """The typed face of usearch's Index (cosine, or Hamming on sign bits for ``b1``)."""

    def __init__(self, settings: IndexSettings, raw: Any = None) -> None:
        from usearch.index import Index

        self.settings = settings
        self._binary = settings.dtype == "b1"
        self._raw: Any = raw or Index(
            ndim=settings.dims,
            metric="hamming" if self._binary else "cos",
            dtype=settings.dtype,
            connectivity=settings.connectivity,
            expansion_add=settings.expansion_add,
            expansion_search=settings.expansion_search,
        )

    @classmethod
    def restore(cls, path: Path, settings: IndexSettings) -> _Ann:
        """Load `path`; ValueError when it is not a sound index made with `settings`."""
        from usearch.index import Index

        meta = Index.metadata(str(path))
        if meta is None or int(meta["dimensions"]) != settings.dims:
            raise ValueError("not an index with these dimensions")
        raw = Index.restore(str(path))
        if raw is None:
            raise ValueError("not a usearch index")
        raw.expansion_search = settings.expansion_search  # type: ignore[misc]  # has a setter
        return cls(settings, raw)

    def _prepare(self, vectors: FloatArray) -> npt.NDArray[Any]:
        return np.packbits(vectors > 0, axis=1) if self._binary else vectors

    def __len__(self) -> int:
        return int(len(self._raw))

    def contains(self, keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
        return np.asarray(self._raw.contains(keys), dtype=bool).reshape(-1)

    def add(self, keys: npt.NDArray[np.uint64], vectors: FloatArray, *, threads: int = 0) -> None:
        self._raw.add(keys, self._prepare(vectors), threads=threads)

    def remove(self, keys: npt.NDArray[np.uint64]) -> None:
        self._raw.remove(keys)

    def search(self, vector: FloatArray, k: int, *, exact: bool = False) -> list[tuple[int, float]]:
        """(key, similarity) best first: cosine, or for ``b1`` 1 - 2·Hamming/bits, which
        estimates the cosine's sign agreement."""
        found = self._raw.search(self._prepare(vector.reshape(1, -1))[0], k, exact=exact)
        keys = np.asarray(found.keys, dtype=np.uint64).reshape(-1)
        dist = np.asarray(found.distances, dtype=np.float64).reshape(-1)
        if self._binary:
            sims = 1.0 - 2.0 * dist / self.settings.dims
        else:
            sims = 1.0 - dist
        return [(int(key), float(sim)) for key, sim in zip(keys, sims, strict=True)]

    def save(self, path: Path) -> None:
        self._raw.save(str(path))

    def memory_bytes(self) -> int:
        return int(self._raw.memory_usage)


@dataclass(frozen=True, slots=True)
class _Meta:
    format: int
    dims: int
    dtype: str
    watermark: int


class MessageIndex:
    """Past messages by meaning. Thread-safe; every method may be called from any thread."""

    def __init__(
        self,
        path: Path,
        embedder: TextEmbedder,
        settings: IndexSettings | None = None,
        *,
        notice: Callable[[str], None] = notice_to_stderr,
        save_every: int = SAVE_EVERY,
    ) -> None:
        self.path = path
        self.settings = settings or IndexSettings()
        self._embedder = embedder
        self._notice = notice
        self._save_every = save_every
        self._lock = threading.RLock()
        self._ann: _Ann | None = None
        self._watermark = 0
        self._unsaved = 0

    @property
    def meta_path(self) -> Path:
        return self.path.with_name(self.path.name + ".json")

    @property
    def watermark(self) -> int:
        """Every message up to this id is in the index (or is not to be recalled)."""
        return self._watermark

    def __len__(self) -> int:
        with self._lock:
            return len(self._loaded())

    # --- loading ---------------------------------------------------------------------------

    def _loaded(self) -> _Ann:
        if self._ann is None:
            self._ann, self._watermark = self._load()
        return self._ann

    def _load(self) -> tuple[_Ann, int]:
        if not self.path.exists():
            return _Ann(self.settings), 0
        try:
            meta = _Meta(**json.loads(self.meta_path.read_text(encoding="utf-8")))
            wanted = (FORMAT, self.settings.dims, self.settings.dtype)
            if (meta.format, meta.dims, meta.dtype) != wanted:
                raise ValueError("made with other settings")
            return _Ann.restore(self.path, self.settings), int(meta.watermark)
        except Exception as e:  # noqa: BLE001 - any unreadable file: rebuild from the database
            why = str(e).strip().splitlines()[0][:80] if str(e).strip() else type(e).__name__
            self._notice(f"the memory index could not be read ({why}); rebuilding it")
            return _Ann(self.settings), 0

    def reset(self) -> None:
        """Drop everything (e.g. after ``forget --all``); the next catch-up rebuilds."""
        with self._lock:
            self._ann, self._watermark, self._unsaved = _Ann(self.settings), 0, 0
            self.path.unlink(missing_ok=True)
            self.meta_path.unlink(missing_ok=True)

    # --- writing ---------------------------------------------------------------------------

    def embed(self, texts: Sequence[str]) -> FloatArray:
        """The index's vectors for `texts` (the query's too): cut, unit length."""
        return reduce(self._embedder.embed([t[:EMBED_CHARS] for t in texts]), self.settings.dims)

    def catch_up(self, source: MessageSource, *, limit: int | None = None) -> int:
        """Embed the messages written since the last call, at most `limit` (all when None);
        returns how many were added. A database younger than the index (restored, replaced)
        starts it over."""
        with self._lock:
            ann = self._loaded()
            newest = source.max_message_id()
            if newest == self._watermark:
                return 0  # the usual case before a reply: nothing new, one cheap query
            if self._watermark > newest:
                self._ann, self._watermark = _Ann(self.settings), 0
                ann = self._ann
            added = 0
            while limit is None or added < limit:
                want = CATCH_UP_BATCH if limit is None else min(CATCH_UP_BATCH, limit - added)
                batch = source.messages_after(self._watermark, want)
                added += self._add(ann, batch)
                if batch.next_id == self._watermark:
                    break
                self._watermark = batch.next_id
            if self._unsaved >= self._save_every:
                self.save()
            return added

    def _add(self, ann: _Ann, batch: MessageBatch) -> int:
        if not batch.rows:
            return 0
        keys = np.asarray([r.message_id for r in batch.rows], dtype=np.uint64)
        fresh = ~ann.contains(keys)
        if not fresh.any():
            return 0
        texts = [r.text for r, new in zip(batch.rows, fresh, strict=True) if new]
        ann.add(keys[fresh], self.embed(texts))
        self._unsaved += int(fresh.sum())
        return int(fresh.sum())

    def remove(self, message_ids: Sequence[int]) -> None:
        """Forget these messages' vectors (deleted, or found unrecallable)."""
        if not message_ids:
            return
        with self._lock:
            ann = self._loaded()
            keys = np.asarray(message_ids, dtype=np.uint64)
            present = keys[ann.contains(keys)]
            if present.size:
                ann.remove(present)
                self._unsaved += int(present.size)

    def save(self) -> None:
        """Write the index and its sidecar atomically (index first: a crash in between
        leaves the old watermark, and catch-up skips what is already in)."""
        with self._lock:
            ann = self._loaded()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + ".tmp")
            ann.save(tmp)
            os.replace(tmp, self.path)
            meta = _Meta(FORMAT, self.settings.dims, self.settings.dtype, self._watermark)
            tmp_meta = self.meta_path.with_name(self.meta_path.name + ".tmp")
            tmp_meta.write_text(json.dumps(asdict(meta)), encoding="utf-8")
            os.replace(tmp_meta, self.meta_path)
            self._unsaved = 0

    # --- reading ---------------------------------------------------------------------------

    def search(self, vector: FloatArray, k: int) -> list[tuple[int, float]]:
        """The `k` nearest messages to `vector` (one row of :meth:`embed`): (id, similarity)."""
        with self._lock:
            ann = self._loaded()
            if len(ann) == 0 or k <= 0:
                return []
            return ann.search(vector, min(k, len(ann)))

    def memory_bytes(self) -> int:
        with self._lock:
            return self._loaded().memory_bytes()
