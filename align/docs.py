"""Write a benchmark's section into docs/benchmarks.md between its markers.

>>> update_section("# B\\n", "x", "hello")
'# B\\n\\n<!-- bench:x -->\\nhello\\n<!-- /bench:x -->\\n'
>>> update_section(update_section("", "x", "a"), "x", "b").count("bench:x -->")
2
"""

from __future__ import annotations

import re
from pathlib import Path

BENCH_DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def update_section(text: str, key: str, body: str) -> str:
    """Replace (or append) the block between ``<!-- bench:key -->`` and ``<!-- /bench:key -->``."""
    start, end = f"<!-- bench:{key} -->", f"<!-- /bench:{key} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        return pattern.sub(lambda _m: block, text)
    sep = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
    return f"{text}{sep}{block}\n"


def write_section(key: str, body: str, doc: Path = BENCH_DOC) -> Path:
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(update_section(text, key, body), encoding="utf-8")
    return doc
