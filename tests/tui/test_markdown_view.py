"""The one-widget Markdown body: incremental block splitting, rendering, selection, themes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from textual.app import App, ComposeResult
from textual.geometry import Offset
from textual.selection import Selection

from tui.widgets.markdown_view import Blocks, MarkdownView, render_block, rich_theme, split_blocks

_WORD = st.text(alphabet="abcxyz019 *_`~|-#>.:\t\r", min_size=1, max_size=12)
_BLOCK = st.one_of(
    st.lists(_WORD, min_size=1, max_size=4).map(" ".join),  # a paragraph (any syntax in it)
    st.lists(_WORD, min_size=1, max_size=3).map(lambda ws: "".join(f"- {w}\n" for w in ws)),
    st.lists(_WORD, min_size=1, max_size=3).map(
        lambda ws: "".join(f"{i}. {w}\n" for i, w in enumerate(ws, 1))
    ),
    st.lists(_WORD, min_size=0, max_size=3).map(lambda ws: "```py\n" + "\n".join(ws) + "\n```"),
    _WORD.map(lambda w: f"## {w}"),
    _WORD.map(lambda w: f"> {w}"),
    st.just("---"),
    st.just("a | b\n-|-\n1 | 2"),
)
_DOC = st.lists(
    st.tuples(_BLOCK, st.sampled_from(["\n", "\n\n", "\n\n\n", "\r\n\r\n", ""])),
    min_size=0,
    max_size=8,
).map(lambda parts: "".join(b + sep for b, sep in parts))


@settings(max_examples=300, deadline=None)
@given(doc=_DOC, cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12))
def test_streaming_in_any_pieces_splits_like_the_whole_text(doc: str, cuts: list[int]):
    bounds = sorted({c for c in cuts if c < len(doc)} | {0, len(doc)})
    streamed = Blocks()
    for a, b in zip(bounds, bounds[1:], strict=False):
        streamed.extend(doc[a:b])
    whole = Blocks(doc)
    assert streamed.source == doc
    assert (streamed.finished, streamed.tail_line) == (whole.finished, whole.tail_line)
    assert streamed.tail == whole.tail


@settings(max_examples=200, deadline=None)
@given(doc=st.text(max_size=300))
def test_any_text_splits_and_renders_without_error(doc: str):
    blocks, tail_line = split_blocks(doc)
    theme = rich_theme({"background": "#000000", "markdown-h1-color": "ansi_magenta"})
    for block in [*blocks, Blocks(doc).tail]:
        for strip in render_block(Console(), block, 30, theme, "monokai"):
            assert strip.cell_length <= 30


def test_lists_and_fences_are_never_cut():
    doc = "Intro\n\n- a\n- b\n\n  still b\n\n```py\nx = 1\n\ny = 2\n```\n\nEnd\n"
    blocks, tail_line = split_blocks(doc)
    assert blocks == ["Intro\n", "- a\n- b\n\n  still b\n\n", "```py\nx = 1\n\ny = 2\n```\n"]
    assert doc.split("\n")[tail_line] == "End"


def test_theme_values_of_every_kind_become_rich_styles():
    theme = rich_theme(
        {
            "background": "#101010",
            "markdown-h1-color": "#E0E0E099",  # with alpha: blended over the background
            "markdown-h1-text-style": "bold underline",
            "markdown-h2-color": "ansi_magenta",
            "markdown-h3-color": "transparent",
            "markdown-h4-color": "auto 87%",
            "markdown-h5-color": "not a colour",
            "text-accent": "#FFC473",
        }
    )
    h1 = theme.styles["markdown.h1"]
    assert h1.bold and h1.underline and h1.color is not None
    assert h1.color.triplet is not None and h1.color.triplet.hex != "#e0e0e0"  # blended
    assert theme.styles["markdown.h2"].color.number == 5  # the terminal's own magenta
    assert theme.styles["markdown.h3"].color is None
    assert theme.styles["markdown.h5"].color is None
    assert theme.styles["markdown.code"].color.triplet.hex == "#ffc473"


class _Host(App[None]):
    def __init__(self, view: MarkdownView) -> None:
        super().__init__()
        self.view = view

    def compose(self) -> ComposeResult:
        yield self.view


async def test_view_shows_markdown_and_its_height_follows_the_text():
    view = MarkdownView("# Title\n\nSome **bold** text.\n\n1. one\n2. two")
    async with _Host(view).run_test(size=(40, 20)) as pilot:
        await pilot.pause()
        assert view.plain_lines == ["Title", "", "Some bold text.", "", "1. one", "2. two"]
        assert view.size.height == 6
        view.append("\n3. three")
        await pilot.pause()
        assert view.plain_lines[-1] == "3. three" and view.size.height == 7
        view.update("short")
        await pilot.pause()
        assert view.plain_lines == ["short"] and view.size.height == 1
        # Long lines wrap to the width.
        view.update("word " * 30)
        await pilot.pause()
        assert view.size.height > 1 and all(len(line) <= 40 for line in view.plain_lines)


async def test_selected_text_is_the_text_on_screen():
    view = MarkdownView("First line.\n\n- item one\n- item two")
    app = _Host(view)
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.pause()
        sel = Selection(Offset(0, 2), Offset(10, 3))
        text, _end = view.get_selection(sel)
        assert text == " • item one\n • item tw"
        # The whole body selected (as by a click-drag past the end).
        text, _end = view.get_selection(Selection(None, None))
        assert text == "First line.\n\n • item one\n • item two"
        # Selected lines are drawn in the selection style.
        app.screen.selections = {view: sel}
        await pilot.pause()
        selected = view.render_line(2)
        styles = [seg.style for seg in selected if "item" in seg.text]
        assert styles and all(s is not None and s.bgcolor is not None for s in styles)


async def test_a_new_theme_renders_the_text_again():
    view = MarkdownView("# Heading")
    app = _Host(view)
    async with app.run_test(size=(40, 5)) as pilot:
        app.theme = "textual-dark"
        await pilot.pause()
        before = view.render_line(0)
        app.theme = "gruvbox"
        await pilot.pause()
        after = view.render_line(0)
        assert before.text.strip() == after.text.strip() == "Heading"

        def color(strip):
            return next(seg.style.color for seg in strip if "Heading" in seg.text)

        assert color(before) != color(after)
