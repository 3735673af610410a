"""Markdown as one widget, for message bodies.

Textual's Markdown widget mounts a widget per block (and per list item, per table cell). In a
chat that means hundreds of widgets, and Textual lays out and repaints all of them whenever a
streamed reply grows: with a 2,000-token reply on screen a key press waited up to 450 ms
(bench/tui.py). Here the blocks are rendered by Rich's Markdown into cached lines of one
widget: an append re-renders only the last, still open block, and a finished message costs
the layout one widget.

Blocks are split on markdown-it's top-level tokens, so a list or a code fence is never cut;
an unclosed fence already renders as code while it streams in.
"""

from __future__ import annotations

import functools
import re
from typing import ClassVar

from markdown_it import MarkdownIt
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import Heading, ListItem
from rich.markdown import Markdown as RichMarkdown
from rich.segment import Segment
from rich.style import Style
from rich.theme import Theme
from textual.color import Color
from textual.geometry import Region, Size
from textual.selection import Selection
from textual.strip import Strip
from textual.widget import Widget

PARSER_RULES = ("strikethrough", "table")
"""Rich's own markdown-it configuration: blocks split the way Rich will render them."""


@functools.cache
def _parser() -> MarkdownIt:
    return MarkdownIt().enable(list(PARSER_RULES))


def _lines(source: str) -> list[str]:
    """Lines as markdown-it counts them: only a newline ends one (\\r is normalised first)."""
    return re.findall(r"[^\n]*\n|[^\n]+$", source.replace("\r\n", "\n").replace("\r", "\n"))


def split_blocks(source: str) -> tuple[list[str], int]:
    """The finished top-level blocks of `source`, and the line where the last block starts.

    The last block stays open: more text may still extend it (a list gains an item, a fence
    its closing line). So does the one before it while the last starts on a line still
    being written: "2" may become "2. item", which continues the list above instead.
    Blank lines between blocks belong to no block.
    """
    lines = _lines(source)
    spans = [t.map for t in _parser().parse("".join(lines)) if t.map and t.level == 0]
    if len(spans) > 1 and lines and not lines[-1].endswith("\n") and spans[-1][0] == len(lines) - 1:
        spans.pop()
    if not spans:
        return [], len(lines)
    return ["".join(lines[a:b]) for a, b in spans[:-1]], spans[-1][0]


class Blocks:
    """Markdown source as its finished top-level blocks and the open last one, kept up to
    date as text streams in: an append parses only from where the open block starts."""

    def __init__(self, source: str = "") -> None:
        self.source = ""
        self.finished: list[str] = []
        self.tail_line = 0
        self.tail = ""
        """The open last block (and any blank lines after it)."""
        self.extend(source)

    def extend(self, fragment: str) -> None:
        self.source += fragment
        lines = _lines(self.source)
        finished, start = split_blocks("".join(lines[self.tail_line :]))
        self.finished += finished
        self.tail_line += start
        self.tail = "".join(lines[self.tail_line :])


class _LeftHeading(Heading):
    # Rich centres h1; in a message bubble every heading reads better on the left.
    LEVEL_ALIGN: ClassVar[dict[str, str]] = {f"h{i}": "left" for i in range(1, 7)}  # type: ignore[assignment]


class _DottedItem(ListItem):
    # "1." as people write it, where Rich shows a bare "1".
    def render_number(
        self, console: Console, options: ConsoleOptions, number: int, last_number: int
    ) -> RenderResult:
        width = len(str(last_number)) + 2
        lines = console.render_lines(self.elements, options.update(width=options.max_width - width))
        number_style = console.get_style("markdown.item.number", default="none")
        numeral = Segment(f"{number}.".rjust(width - 1) + " ", number_style)
        padding = Segment(" " * width, number_style)
        for i, line in enumerate(lines):
            yield padding if i else numeral
            yield from line
            yield Segment.line()


class _ChatMarkdown(RichMarkdown):
    elements: ClassVar = {
        **RichMarkdown.elements,
        "heading_open": _LeftHeading,
        "list_item_open": _DottedItem,
    }


def _is_blank(strip: Strip) -> bool:
    """No text and no background: spacing Rich adds around a block (a code block's padding,
    which has a background, stays)."""
    return all(
        not seg.text.strip() and (seg.style is None or seg.style.bgcolor is None) for seg in strip
    )


def _trim(strips: list[Strip]) -> list[Strip]:
    start, end = 0, len(strips)
    while start < end and _is_blank(strips[start]):
        start += 1
    while end > start and _is_blank(strips[end - 1]):
        end -= 1
    return strips[start:end]


def _color(value: str | None, background: Color) -> str:
    """A Textual theme value as a Rich colour ('' when it has none)."""
    if not value or value in ("transparent", "auto") or value.startswith("auto "):
        return ""
    try:
        color = Color.parse(value)
    except Exception:
        return ""
    if color.a < 1:
        color = background + color
    return color.rich_color.name if color.ansi is not None else color.hex6


def rich_theme(variables: dict[str, str]) -> Theme:
    """Rich's markdown styles from the Textual theme's variables (so themes reach the text)."""
    try:
        background = Color.parse(variables.get("background", "#000000"))
    except Exception:
        background = Color(0, 0, 0)

    def col(name: str, fallback: str = "") -> str:
        return _color(variables.get(name), background) or _color(
            variables.get(fallback), background
        )

    def style(*parts: str) -> str:
        return " ".join(p for p in parts if p and p != "none") or "none"

    styles = {
        f"markdown.h{i}": style(
            variables.get(f"markdown-h{i}-text-style", "bold"), col(f"markdown-h{i}-color")
        )
        for i in range(1, 7)
    }
    muted = col("foreground-muted", "foreground")
    accent = col("text-accent", "accent")
    styles |= {
        "markdown.code": style("bold", accent),
        "markdown.block_quote": style("italic", muted),
        "markdown.item.bullet": style("bold", accent),
        "markdown.item.number": style("bold", accent),
        "markdown.hr": muted or "dim",
        "markdown.link": style("underline", col("text-primary", "primary")),
        "markdown.link_url": style("underline", muted),
        "markdown.table.border": muted or "dim",
        "markdown.table.header": style("bold", col("text-primary", "primary")),
    }
    return Theme(styles, inherit=True)


def render_block(
    console: Console, source: str, width: int, theme: Theme, code_theme: str
) -> list[Strip]:
    """One top-level block as lines of `width` cells at most (not padded)."""
    options = console.options.update(width=width, height=None, highlight=False)
    with console.use_theme(theme):
        lines = console.render_lines(
            _ChatMarkdown(source, code_theme=code_theme), options, pad=False, new_lines=False
        )
    return _trim([Strip(line) for line in lines])


class MarkdownView(Widget):
    """A Markdown document in one widget; `append` streams more text into it."""

    ALLOW_SELECT = True
    DEFAULT_CSS = """
    MarkdownView {
        height: auto;
    }
    """

    def __init__(
        self, source: str = "", *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._doc = Blocks()
        self._width = -1
        self._theme: Theme | None = None
        self._code_theme = "monokai"
        self._block_lines: dict[str, list[Strip]] = {}
        """Rendered blocks at `_width`, by their source."""
        self._stable: list[Strip] = []
        self._stable_blocks = 0
        """How many finished blocks are in `_stable`."""
        self._lines: list[Strip] | None = None
        self._tail_render: tuple[str, list[Strip]] = ("", [])
        self._tail_y = 0
        """Where the open block's lines start in `_lines`: an append changes only those."""
        self._shown: dict[int, Strip] = {}
        """Finished lines (style, width, offsets) by y, so frames reuse them."""
        self._shown_style: Style | None = None
        self._set(source)

    @property
    def source(self) -> str:
        return self._doc.source

    def _set(self, source: str) -> None:
        self._doc = Blocks(source)
        self._reset()

    def _reset(self) -> None:
        self._stable, self._stable_blocks, self._lines, self._tail_y = [], 0, None, 0
        self._tail_render = ("", [])
        self._shown.clear()

    def update(self, source: str) -> None:
        """Show `source` instead."""
        if source == self._doc.source:
            return
        self._set(source)
        kept = set(self._doc.finished)
        self._block_lines = {k: v for k, v in self._block_lines.items() if k in kept}
        self.refresh(layout=True)

    def append(self, fragment: str) -> None:
        """Add `fragment` to the end. Only the open last block is parsed and rendered again."""
        if not fragment:
            return
        height = len(self._lines) if self._lines is not None else None
        changed = self._tail_y
        self._doc.extend(fragment)
        self._lines = None
        for y in [y for y in self._shown if y >= changed]:
            del self._shown[y]
        shown = self.size.height  # with a min-height, more than the lines there are
        if (
            height is not None
            and self._width > 0
            and ((new := len(self._strips(self._width))) == height or height < shown >= new)
        ):
            # Same height: repaint the open block's lines, no layout of the screen.
            self.refresh(Region(0, changed, self.size.width, max(new, height) - changed))
        else:
            self.refresh(layout=True)

    # -- rendering ----------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, _theme: object) -> None:
        self._theme = None
        self._block_lines.clear()
        self._reset()
        self.refresh(layout=True)

    def _current_theme(self) -> tuple[Theme, str]:
        if self._theme is None:
            self._theme = rich_theme(self.app.theme_variables)
            self._code_theme = "monokai" if self.app.current_theme.dark else "default"
        return self._theme, self._code_theme

    def _render_block(self, source: str, width: int) -> list[Strip]:
        theme, code_theme = self._current_theme()
        return render_block(self.app.console, source, width, theme, code_theme)

    def _render_finished(self, source: str, width: int) -> list[Strip]:
        cached = self._block_lines.get(source)
        if cached is None:
            cached = self._block_lines[source] = self._render_block(source, width)
        return cached

    def _strips(self, width: int) -> list[Strip]:
        if width != self._width:
            self._width = width
            self._block_lines.clear()
            self._reset()
        if self._lines is not None:
            return self._lines
        for block in self._doc.finished[self._stable_blocks :]:
            if self._stable:
                self._stable.append(Strip.blank(0))
            self._stable += self._render_finished(block, width)
        self._stable_blocks = len(self._doc.finished)
        tail: list[Strip] = []
        source = self._doc.tail
        if source.strip():
            # Not in `_block_lines`: every version of the open block would stay there.
            if self._tail_render[0] != source:
                self._tail_render = (source, self._render_block(source, width))
            tail = self._tail_render[1]
        gap = [Strip.blank(0)] if self._stable and tail else []
        self._tail_y = len(self._stable) + len(gap)
        self._lines = self._stable + gap + tail
        return self._lines

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._strips(width)) if width > 0 else 0

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return container.width

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        lines = self._strips(width)
        base = self.rich_style
        if y >= len(lines):
            return Strip.blank(width, base)
        selection = self.text_selection
        if selection is None:
            if base != self._shown_style:
                self._shown.clear()
                self._shown_style = base
            if (shown := self._shown.get(y)) is not None:
                return shown
        strip = lines[y]
        if selection is not None and (span := selection.get_span(y)) is not None:
            strip = _select(strip, span, self.screen.get_component_rich_style("screen--selection"))
        shown = strip.apply_style(base).extend_cell_length(width, base).apply_offsets(0, y)
        if selection is None:
            self._shown[y] = shown
        return shown

    # -- selection ----------------------------------------------------------------------------

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        text = "\n".join(strip.text.rstrip() for strip in self._strips(self.size.width))
        return selection.extract(text), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self.refresh()

    @property
    def plain_lines(self) -> list[str]:
        """The rendered text, line by line (what the user sees)."""
        return [strip.text.rstrip() for strip in self._strips(self.size.width)]


def _select(strip: Strip, span: tuple[int, int], style: Style) -> Strip:
    """`strip` with the characters in `span` (end -1: to the end) in the selection style."""
    text = strip.text
    start, end = span
    end = len(text) if end == -1 else end
    # Offsets are in characters (Strip.apply_offsets); cuts are in cells.
    a, b = cell_len(text[:start]), cell_len(text[:end])
    return Strip.join(
        [strip.crop(0, a), strip.crop(a, b).apply_style(style), strip.crop(b, strip.cell_length)]
    )
