"""Cleaning pass: report counts per reason, bad lines with their numbers, formats."""

from __future__ import annotations

import doctest
import json

from hypothesis import given, settings
from hypothesis import strategies as st

import align.clean
from align.clean import clean_file, clean_samples, to_messages


def convo(user: str, reply: str) -> dict:
    return {
        "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": reply}]
    }


def test_report_counts_each_reason():
    samples = [
        convo("Hi", "Hello! How was your day?"),  # kept as is
        convo("Hi", "Hello! How was your day?"),  # duplicate
        convo("Hi\u200b", " Hello!   How was your day?\n"),  # unicode+whitespace → dup
        convo("<b>Hey</b>", "cafe\u0301 time?"),  # markup + unicode
        convo("Reach me at jo@example.com", "Will do."),  # personal data
        convo("   ", "Hello"),  # empty after cleaning
        convo("long", "word " * 400),  # over budget
    ]
    kept, report = clean_samples(samples, max_tokens=200)
    assert report.read == 7
    assert report.kept == len(kept) == 3
    assert dict(report.dropped) == {"duplicate": 2, "empty": 1, "over_token_budget": 1}
    assert dict(report.changed) == {"markup": 1, "unicode": 1, "personal_data": 1}
    assert dict(report.personal_data) == {"email": 1}
    assert kept[1]["messages"][0]["content"] == "Hey"
    assert kept[1]["messages"][1]["content"] == "café time?"
    assert "[email]" in kept[2]["messages"][0]["content"]
    assert "dropped 2 (duplicate)" in report.summary()


def test_bad_lines_are_reported_and_skipped(tmp_path):
    src = tmp_path / "in.jsonl"
    lines = [
        json.dumps(convo("Hi", "Hello")),
        "{not json",
        json.dumps(
            {"conversations": [{"from": "human", "value": "Yo"}, {"from": "gpt", "value": "Hey"}]}
        ),
        json.dumps({"text": "plain"}),
        "",
        json.dumps({"messages": [{"role": "robot", "content": "x"}]}),
        json.dumps([1, 2]),
        json.dumps(convo("Bye", "See you")),
    ]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    dst = tmp_path / "out" / "clean.jsonl"
    kept, report = clean_file(src, dst)
    assert [no for no, _ in report.bad_lines] == [2, 4, 6, 7]
    assert "invalid JSON" in report.bad_lines[0][1]
    assert "unknown role 'robot'" in report.bad_lines[2][1]
    assert report.read == 7 and report.kept == 3 and report.dropped["bad_line"] == 4
    written = [json.loads(x) for x in dst.read_text(encoding="utf-8").splitlines()]
    assert written == kept
    assert written[1]["messages"] == [
        {"role": "user", "content": "Yo"},
        {"role": "assistant", "content": "Hey"},
    ]
    assert not list(tmp_path.glob("out/.*.tmp"))


def test_preference_rows_are_cleaned_too():
    row = {"prompt": "Hi <i>you</i>", "chosen": "Same", "rejected": "Same "}
    kept, report = clean_samples([to_messages(row)])
    assert kept == [] and report.dropped["identical_sides"] == 1
    row = {"prompt": "Hi", "chosen": "A  b", "rejected": "C"}
    kept, _ = clean_samples([to_messages(row)])
    assert kept[0]["chosen"] == [{"role": "assistant", "content": "A b"}]
    assert kept[0]["prompt"] == [{"role": "user", "content": "Hi"}]


def test_cli_clean(tmp_path):
    from typer.testing import CliRunner

    from companion.cli.learning import data_app

    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(convo("Hi", "Hello")) + "\n{oops\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    res = CliRunner().invoke(data_app, ["clean", str(src), str(out)])
    assert res.exit_code == 0, res.output
    assert "line 2: invalid JSON" in res.output
    assert out.read_text(encoding="utf-8").count("\n") == 1


def test_doctests():
    result = doctest.testmod(align.clean)
    assert result.failed == 0 and result.attempted > 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=40), st.text(max_size=40)), max_size=6))
def test_cleaning_is_idempotent_and_never_crashes(pairs):
    samples = [convo(u, a) for u, a in pairs]
    once, r1 = clean_samples(samples)
    twice, r2 = clean_samples(once)
    assert twice == once
    assert r2.kept == r1.kept and not r2.dropped
    assert r1.kept + sum(r1.dropped.values()) == r1.read == len(samples)
