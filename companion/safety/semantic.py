"""The semantic layer: small trained heads over an offline embedding, for what rules miss.

What runs: every text is normalized (:func:`companion.safety.normalize.canonical`), cut into
sentences, and each piece (the whole text and each sentence) is scored by a logistic
regression head; a text scores its highest piece, so one crisis sentence inside a long
message is not averaged away. Two heads are trained when the layer loads, from the exemplar
banks in :mod:`companion.safety.exemplars` (about 520 user lines, 370 reply lines), in well
under a second; nothing trained is stored or committed:

- ``crisis``: crisis vs safe look-alike, on the user's messages;
- ``reply``: clean vs toxic vs manipulative, on reply text.

Features: WordLlama's static embedding (``l2_supercat``, 256 dims, weights inside the
``wordllama`` wheel, loaded straight from the wheel's files: no download, nothing written)
concatenated with TF-IDF word 1-2-grams and character 2-5-grams (scikit-learn).

Why both, measured by bench/safety_quality.py on the dev split (docs/benchmarks.md): raw
WordLlama cosine separates crisis phrasings poorly (ENVIRONMENT.md: "thinking about ending
it all" vs "I want to end my life" 0.36). A head on the embedding alone learns topic
("pills", "bridge") more than intent; TF-IDF alone misses paraphrases that share no words
but copes with typos through character n-grams. On their own, at the shipped thresholds,
the heads caught 54% (WordLlama), 59% (TF-IDF) and 63% (both) of dev crisis lines with 3%,
1% and 0% of safe look-alikes flagged, and 36%, 41% and 59% of toxic replies with 5%, 0%
and 0% of clean ones: the combination is best on every measure, so it is the default.

Thresholds (``CRISIS_*``, ``CONTEXT``, ``TOXIC``, ``MANIPULATIVE``) were set on the dev
split of tests/data/safety_eval.jsonl (the lowest value with no dev false positive, plus a
margin), never on the held-out split. Cost: a few milliseconds per check (one
tokenization, one sparse product per head); recent scores are cached.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from companion.safety import exemplars
from companion.safety.normalize import canonical, clean, sentences

Features = Literal["wordllama", "tfidf", "both"]
DEFAULT_FEATURES: Features = "both"

CRISIS_CHECK_IN = 0.7
"""A user message scoring this much, with no rule signal, gets the check-in tier."""
CRISIS_CONFIRM = 0.5
"""A possible rule signal scoring this much is a clear crisis."""
CONTEXT = 0.5
"""An earlier turn scoring this much makes a finality cue ("tonight's the night") a crisis."""
TOXIC = 0.8
"""A reply scoring this much toxic is blocked (in fallback mode: Detoxify is primary)."""
MANIPULATIVE = 0.7
"""A reply scoring this much manipulative is blocked (in every mode)."""

WORDLLAMA_CONFIG = "l2_supercat"
WORDLLAMA_DIM = 256


class SemanticUnavailable(RuntimeError):
    """The semantic layer could not be built (one line: why)."""


# --- the embedding -----------------------------------------------------------------------


def _wordllama_files() -> tuple[Path, Path]:
    import wordllama

    pkg = Path(wordllama.__file__).parent
    weights = pkg / "weights" / f"{WORDLLAMA_CONFIG}_{WORDLLAMA_DIM}.safetensors"
    tokenizer = pkg / "tokenizers" / f"{WORDLLAMA_CONFIG}_tokenizer_config.json"
    return weights, tokenizer


def _import_quietly() -> Any:
    """`wordllama.inference` calls ``logging.basicConfig(level=INFO)`` at import, which
    would print library logs into the terminal UI: give the root logger a handler for the
    import so that call does nothing."""
    root = logging.getLogger()
    guard = logging.NullHandler() if not root.handlers else None
    if guard is not None:
        root.addHandler(guard)
    try:
        from wordllama import inference
    finally:
        if guard is not None:
            root.removeHandler(guard)
    return inference


def load_wordllama(cache_dir: Path | None = None) -> Any:
    """WordLlama's inference object, offline. Built from the weights and tokenizer files
    in the wheel; if that fails and `cache_dir` is given, the documented route: copy the
    packaged tokenizer config to ``cache_dir/tokenizers/`` and
    ``WordLlama.load(cache_dir=..., disable_download=True)``."""
    try:
        inference = _import_quietly()
        from safetensors import safe_open
        from tokenizers import Tokenizer

        weights, tokenizer = _wordllama_files()
        with safe_open(str(weights), framework="np", device="cpu") as f:
            embedding = f.get_tensor("embedding.weight")
        return inference.WordLlamaInference(embedding, Tokenizer.from_file(str(tokenizer)))
    except Exception as direct:  # noqa: BLE001 - any failure: try the other route, then say why
        if cache_dir is None:
            raise SemanticUnavailable(f"WordLlama did not load: {_one_line(direct)}") from direct
        try:
            from wordllama import WordLlama

            _weights, tokenizer = _wordllama_files()
            dest = cache_dir / "tokenizers"
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(tokenizer, dest / tokenizer.name)
            return WordLlama.load(cache_dir=cache_dir, disable_download=True)
        except Exception as e:  # noqa: BLE001
            raise SemanticUnavailable(f"WordLlama did not load: {_one_line(e)}") from e


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"[:200]


@dataclass
class Embedder:
    """Unit-length sentence vectors from WordLlama (a zero vector for empty text)."""

    model: Any

    def embed(self, texts: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        out = np.zeros((len(texts), WORDLLAMA_DIM), dtype=np.float32)
        idx = [i for i, t in enumerate(texts) if t.strip()]
        if idx:
            vecs = self.model.embed([texts[i] for i in idx], norm=True)
            out[idx] = np.nan_to_num(np.asarray(vecs, dtype=np.float32))
        return out


# --- heads -------------------------------------------------------------------------------


class Head:
    """Logistic regression on (embedding ⊕ TF-IDF) features of normalized text."""

    def __init__(
        self,
        classes: Sequence[str],
        texts: Sequence[str],
        labels: Sequence[int],
        embedder: Embedder | None,
        features: Features = DEFAULT_FEATURES,
        *,
        c: float = 4.0,
    ) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion

        if features != "tfidf" and embedder is None:
            raise SemanticUnavailable(f"features {features!r} need the WordLlama embedding")
        self.classes = tuple(classes)
        self.features = features
        self._embedder = embedder
        self._tfidf: FeatureUnion | None = None
        prepared = [prepare(t) for t in texts]
        if features != "wordllama":
            self._tfidf = FeatureUnion(
                [
                    ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
                    (
                        "chars",
                        TfidfVectorizer(
                            analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2
                        ),
                    ),
                ]
            )
            self._tfidf.fit(prepared)
        self._model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
        self._model.fit(self._matrix(prepared), np.asarray(labels))

    def _matrix(self, prepared: Sequence[str]) -> Any:
        from scipy import sparse

        parts: list[Any] = []
        if self._tfidf is not None:
            parts.append(self._tfidf.transform(prepared))
        if self._embedder is not None and self.features != "tfidf":
            parts.append(sparse.csr_matrix(self._embedder.embed(prepared)))
        return parts[0] if len(parts) == 1 else sparse.hstack(parts, format="csr")

    def proba(self, prepared: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Class probabilities (rows: texts, columns: `classes`) of prepared texts."""
        if not prepared:
            return np.zeros((0, len(self.classes)))
        return np.asarray(self._model.predict_proba(self._matrix(prepared)), dtype=np.float64)


def prepare(text: str) -> str:
    """What the heads read: bounded, normalized text."""
    return canonical(clean(text, max_chars=4000))


def _pieces(text: str, limit: int = 12) -> list[str]:
    whole = prepare(text)
    parts = sentences(whole, limit=limit)
    return [whole, *parts] if len(parts) > 1 else [whole]


def _max_over_pieces(
    texts: Sequence[str], score: Callable[[list[str]], np.ndarray[Any, np.dtype[np.float64]]]
) -> np.ndarray[Any, np.dtype[np.float64]]:
    pieces = [_pieces(t) for t in texts]
    flat = [p for ps in pieces for p in ps]
    probs = score(flat)
    out, i = [], 0
    for ps in pieces:
        out.append(probs[i : i + len(ps)].max(axis=0))
        i += len(ps)
    return np.asarray(out) if out else np.zeros((0, probs.shape[1] if probs.ndim == 2 else 1))


# --- the layer ---------------------------------------------------------------------------

REPLY_CLASSES = ("clean", "toxic", "manipulative")


@dataclass
class SemanticLayer:
    crisis: Head
    reply: Head
    features: Features
    load_ms: float
    cache_size: int = 512
    """Scores of recent texts are kept: the context layer re-reads the last user turns, and
    the fallback classifier and the pipeline both score each reply."""

    def __post_init__(self) -> None:
        self._cache: OrderedDict[tuple[str, str], np.ndarray[Any, np.dtype[np.float64]]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def _scores(
        self, head: str, texts: Sequence[str]
    ) -> list[np.ndarray[Any, np.dtype[np.float64]]]:
        model = self.crisis if head == "crisis" else self.reply
        with self._lock:
            known = {t: self._cache.get((head, t)) for t in texts}
        missing = list(dict.fromkeys(t for t, v in known.items() if v is None))
        if missing:
            fresh = _max_over_pieces(missing, model.proba)
            with self._lock:
                for t, row in zip(missing, fresh, strict=True):
                    known[t] = row
                    self._cache[(head, t)] = row
                    if len(self._cache) > self.cache_size:
                        self._cache.popitem(last=False)
        out = []
        for t in texts:
            row = known[t]
            assert row is not None
            out.append(row)
        return out

    @property
    def detail(self) -> str:
        feats = {
            "both": "WordLlama + TF-IDF",
            "wordllama": "WordLlama",
            "tfidf": "TF-IDF",
        }[self.features]
        return f"semantic heads ({feats}, loaded and trained in {self.load_ms:.0f} ms)"

    def crisis_scores(self, texts: Sequence[str]) -> list[float]:
        """P(crisis) of each user message (its highest-scoring sentence)."""
        col = self.crisis.classes.index("crisis")
        return [float(row[col]) for row in self._scores("crisis", texts)]

    def reply_scores(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """P(toxic) and P(manipulative) of each reply text (highest sentence)."""
        t, m = self.reply.classes.index("toxic"), self.reply.classes.index("manipulative")
        return [
            {"toxic": float(r[t]), "manipulative": float(r[m])}
            for r in self._scores("reply", texts)
        ]


def build(
    *,
    features: Features = DEFAULT_FEATURES,
    cache_dir: Path | None = None,
    embedder: Embedder | None = None,
) -> SemanticLayer:
    """Load WordLlama (unless `features` is "tfidf") and train both heads. Raises
    SemanticUnavailable with the reason."""
    start = time.perf_counter()
    if embedder is None and features != "tfidf":
        embedder = Embedder(load_wordllama(cache_dir))
    try:
        crisis = Head(
            ("safe", "crisis"),
            [*exemplars.USER_SAFE, *exemplars.CRISIS],
            [0] * len(exemplars.USER_SAFE) + [1] * len(exemplars.CRISIS),
            embedder,
            features,
        )
        reply = Head(
            REPLY_CLASSES,
            [*exemplars.REPLY_CLEAN, *exemplars.REPLY_TOXIC, *exemplars.REPLY_MANIPULATIVE],
            [0] * len(exemplars.REPLY_CLEAN)
            + [1] * len(exemplars.REPLY_TOXIC)
            + [2] * len(exemplars.REPLY_MANIPULATIVE),
            embedder,
            features,
        )
    except SemanticUnavailable:
        raise
    except Exception as e:  # noqa: BLE001 - sklearn/numpy failures become one line
        raise SemanticUnavailable(f"semantic heads did not train: {_one_line(e)}") from e
    return SemanticLayer(crisis, reply, features, (time.perf_counter() - start) * 1000)


_lock = threading.Lock()
_shared: dict[str, SemanticLayer | SemanticUnavailable] = {}


def shared(cache_dir: Path | None = None) -> SemanticLayer:
    """One layer per process (built on first use, about a second). A failure is kept too,
    so a broken install is reported every time without retrying the load."""
    with _lock:
        got = _shared.get("layer")
        if got is None:
            try:
                got = build(cache_dir=cache_dir)
            except SemanticUnavailable as e:
                got = e
            _shared["layer"] = got
    if isinstance(got, SemanticUnavailable):
        raise got
    return got
