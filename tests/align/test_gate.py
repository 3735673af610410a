"""Gate rules as a pure table; log-prob scoring checked against a naive computation."""

from __future__ import annotations

import doctest

import pytest

import align.gate
from align.gate import PrefEval, ProbeResult, RewardEval, decide, sign_test_p

OLD = PrefEval(n=10, accuracy=0.6, mean_margin=0.5, chosen_logp_per_token=-2.0)


def ev(acc=0.7, margin=0.8, ll=-2.1, n=10):
    return PrefEval(n=n, accuracy=acc, mean_margin=margin, chosen_logp_per_token=ll)


@pytest.mark.parametrize(
    ("new", "kw", "passed", "why"),
    [
        (ev(), {}, True, None),
        (ev(acc=0.55), {}, False, "worse"),
        (ev(acc=0.55), {"margin": 0.1}, True, None),
        (ev(margin=0.1), {}, False, "worse"),
        (ev(ll=-3.0), {}, False, "collapsed"),
        (ev(n=0), {}, False, "no holdout pairs"),
        (ev(), {"safety": ProbeResult(0.30, 0.20)}, False, "rose"),
        (ev(), {"safety": ProbeResult(0.21, 0.20)}, True, None),
        (ev(), {"sycophancy": ProbeResult(0.10, 0.20)}, False, "more sycophantic"),
        (ev(), {"sycophancy": ProbeResult(0.17, 0.20)}, True, None),
        (ev(), {"thumbs_only": True}, False, "must run"),
        (ev(), {"thumbs_only": True, "sycophancy": ProbeResult(0.19, 0.20)}, False, "strict"),
        (ev(), {"thumbs_only": True, "sycophancy": ProbeResult(0.20, 0.20)}, True, None),
    ],
)
def test_decide_table(new, kw, passed, why):
    report = decide(new, OLD, **kw)
    assert report.passed is passed
    if why:
        assert any(why in r for r in report.reasons), report.reasons
    assert report.summary().startswith("gate: " + ("promoted" if passed else "not promoted"))


def test_doctests():
    assert doctest.testmod(align.gate).failed == 0


@pytest.mark.slow
def test_batched_logps_match_naive(tiny_model_dir):
    import torch

    from align.gate import Policies, _tokenize_pair, completion_logps

    pol = Policies(tiny_model_dir, {})
    items = [
        ([{"role": "user", "content": "Hi"}], "Hello there, how are you?"),
        (
            [
                {"role": "system", "content": "Be kind."},
                {"role": "user", "content": "A longer hello"},
            ],
            "Ok.",
        ),
    ]
    got = completion_logps(pol.model, pol.tokenizer, items, batch_size=2)
    for (prompt, comp), (lp, n) in zip(items, got, strict=True):
        p_ids, c_ids = _tokenize_pair(pol.tokenizer, prompt, comp)
        ids = torch.tensor([p_ids + c_ids])
        with torch.no_grad():
            logits = pol.model(input_ids=ids).logits[0]
        logps = torch.log_softmax(logits[:-1], -1).gather(-1, ids[0, 1:, None])[:, 0]
        assert n == len(c_ids)
        assert lp == pytest.approx(logps[-len(c_ids) :].sum().item(), abs=1e-3)


def test_the_implicit_reward_against_the_parent_is_length_fair_and_reported():
    from align.gate import RewardEval

    # A longer chosen reply: its raw log-prob is lower under both policies (the raw rule sees
    # "rejected preferred" each time), but the new policy raised it relative to its parent.
    parent = [(-40.0, -10.0, 30), (-42.0, -12.0, 32)]
    new = [(-36.0, -10.5, 30), (-39.0, -12.0, 32)]
    assert PrefEval.of(new).accuracy == 0.0
    reward = RewardEval.of(new, parent)
    assert (reward.n, reward.accuracy, reward.mean_margin) == (2, 1.0, 3.75)
    report = decide(ev(acc=0.0), OLD, reward=reward, alpha=0.25)
    assert report.reward == reward and report.to_dict()["reward"]["accuracy"] == 1.0
    # 2/2 won: p = 0.25, so it passes at alpha 0.25 although the raw accuracy fell to 0
    assert report.passed, report.reasons
    assert any("won 2/2 holdout pairs (sign test p=0.250" in r for r in report.reasons)
    assert any("raw holdout accuracy 0.000" in r and "reported" in r for r in report.reasons)
    with pytest.raises(ValueError):
        RewardEval.of(new, parent[:1])  # the same pairs under both, or it is a bug


def rw(wins, n, margin=1.0):
    return RewardEval(n=n, accuracy=wins / n, mean_margin=margin)


@pytest.mark.parametrize(
    ("reward", "alpha", "passed", "why"),
    [
        (rw(5, 6), 0.2, True, "p=0.109"),
        (rw(4, 6), 0.2, False, "beyond chance"),  # p=0.344: a coin does this a third of the time
        (rw(6, 6), 0.01, False, "beyond chance"),  # p=0.016
        (rw(8, 10), 0.2, True, "p=0.055"),
        (rw(8, 10, margin=-0.4), 0.2, False, "beyond chance"),  # won often, by less than lost
        (rw(29, 48), 0.2, True, "p=0.097"),
        (rw(24, 48), 0.2, False, "p=0.557"),
        (rw(0, 10, margin=-3.0), 0.2, False, "beyond chance"),
    ],
)
def test_the_implicit_reward_decides_by_a_sign_test(reward, alpha, passed, why):
    # The raw rule would say the opposite each time: new raw accuracy far below the active's.
    report = decide(ev(acc=0.1, margin=-9.0), OLD, reward=reward, alpha=alpha)
    assert report.passed is passed, report.reasons
    assert any(why in r for r in report.reasons), report.reasons


def test_other_rules_still_refuse_when_the_reward_wins():
    good = rw(9, 10)
    assert decide(ev(), OLD, reward=good).passed
    assert not decide(ev(ll=-3.0), OLD, reward=good).passed
    assert not decide(ev(), OLD, reward=good, safety=ProbeResult(0.30, 0.20)).passed
    assert not decide(ev(), OLD, reward=good, sycophancy=ProbeResult(0.10, 0.20)).passed


@pytest.mark.parametrize(("wins", "n", "p"), [(5, 6, 0.109375), (3, 6, 0.65625), (10, 10, 0.5**10)])
def test_sign_test_p_matches_the_binomial_tail(wins, n, p):
    assert sign_test_p(wins, n) == pytest.approx(p)
