"""The shipped checkpoints are what they claim: one genuine induction circuit, one shortcut."""
import math

import pytest
import torch

from induction_circuits.data import periodic_tokens
from induction_circuits.model import SHIPPED_CHECKPOINTS, load_checkpoint
from induction_circuits.scores import run_with_patterns, scores_from_patterns
from induction_circuits.training import repeat_losses

LN_64 = math.log(64)


def repeats(period, n=256, seed=11):
    return periodic_tokens(n, period, 2 * period, generator=torch.Generator().manual_seed(seed))


def measure(model, period):
    """(loss before the repeat, loss after it, scores) on period+period sequences."""
    tokens = repeats(period)
    logits, patterns = run_with_patterns(model, tokens)
    first, second = repeat_losses(logits, tokens, period)
    return first, second, scores_from_patterns(patterns, tokens)


def loss_after_repeat_without(model, layer, head, period=25):
    tokens = repeats(period)

    def zero_head(z, hook):
        z[:, :, head] = 0.0
        return z

    with torch.no_grad():
        logits = model.run_with_hooks(tokens, fwd_hooks=[(f"blocks.{layer}.attn.hook_z", zero_head)])
    return repeat_losses(logits, tokens, period)[1]


@pytest.fixture(scope="module")
def induction():
    return load_checkpoint(SHIPPED_CHECKPOINTS["induction"])


@pytest.fixture(scope="module")
def shortcut():
    return load_checkpoint(SHIPPED_CHECKPOINTS["shortcut"])


def test_induction_model_solves_25_plus_25_and_cannot_beat_chance_before_the_repeat(induction):
    first, second, _ = measure(induction, 25)
    assert second < 0.1
    assert abs(first - LN_64) < 0.5, f"loss before the repeat {first:.2f} should stay near ln 64"


def test_induction_model_has_a_previous_token_head_in_layer_0(induction):
    _, _, scores = measure(induction, 25)
    assert scores["previous"][0].max() > 0.8


@pytest.mark.parametrize("period", [15, 20])
def test_induction_model_copies_at_other_periods_with_a_layer_1_induction_head(induction, period):
    _, second, scores = measure(induction, period)
    assert second < 0.3, f"loss after the repeat on {period}+{period}: {second:.3f}"
    assert scores["induction"][1].max() > 0.7
    # the head attends to the token after the earlier occurrence, not to a fixed offset
    assert scores["induction"][0].max() < 0.3


def test_ablating_the_previous_token_head_breaks_induction(induction):
    _, baseline, scores = measure(induction, 25)
    prev_head = int(scores["previous"][0].argmax())
    ablated = loss_after_repeat_without(induction, 0, prev_head)
    assert ablated > 3.0, f"loss after the repeat went from {baseline:.3f} to only {ablated:.3f}"


def test_shortcut_model_solves_25_plus_25_with_no_previous_token_head(shortcut):
    _, second, scores = measure(shortcut, 25)
    assert second < 0.1
    assert scores["previous"][0].max() < 0.2
    assert scores["induction"][0].max() > 0.8, "its layer-0 heads look like induction heads on 25+25"


@pytest.mark.parametrize("period", [15, 20])
def test_shortcut_model_fails_at_other_periods(shortcut, period):
    _, second, _ = measure(shortcut, period)
    assert second > LN_64
