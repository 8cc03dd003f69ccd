import math

import pytest
import torch

from induction_circuits.data import periodic_tokens
from induction_circuits.model import make_model
from induction_circuits.training import (MAX_STEPS_VARIABLE, Data, Recipe, TrainingLog, default_step,
                                         has_genuine_circuit, next_token_losses, train)

TINY = Recipe(steps=30, batch_size=8, switch_at=20, later_data=Data(periods=(8, 25), alphabet=(8, 48)))


def test_next_token_losses_pairs_each_position_with_the_following_token():
    logits = torch.randn(2, 5, 7)
    tokens = torch.randint(0, 7, (2, 5))
    losses = next_token_losses(logits, tokens)
    assert losses.shape == (2, 4)
    expected = -torch.log_softmax(logits[1, 2], -1)[tokens[1, 3]]
    assert torch.isclose(losses[1, 2], expected)


def test_train_logs_every_eval_and_lowers_the_loss():
    model = make_model(seed=0)
    log = train(model, TINY, eval_every=10, progress=False)
    assert log.steps == [10, 20, 30]
    assert len(log.first_half) == len(log.second_half) == len(log.other_period) == 3
    for name in ("previous", "duplicate", "induction"):
        assert log.score_history(name).shape == (3, 2, 4)
    assert log.train_loss[-1] < math.log(64)
    assert not model.training


def test_same_seed_trains_the_same_model():
    a, b = make_model(seed=0), make_model(seed=0)
    train(a, TINY, seed=4, progress=False)
    train(b, TINY, seed=4, progress=False)
    assert torch.allclose(a.W_Q, b.W_Q)


def test_a_custom_step_function_is_used_for_every_step():
    calls = []

    def step(model, optimizer, tokens):
        calls.append(tuple(tokens.shape))
        return default_step(model, optimizer, tokens)

    train(make_model(seed=0), TINY, step_fn=step, progress=False)
    assert calls == [(8, 50)] * TINY.steps


def test_stop_when_ends_training_early():
    log = train(make_model(seed=0), TINY, eval_every=5, progress=False,
                stop_when=lambda log: log.steps[-1] >= 10)
    assert log.steps == [5, 10]


def test_the_step_cap_cuts_training_short_and_says_so(monkeypatch, capsys):
    monkeypatch.setenv(MAX_STEPS_VARIABLE, "7")
    log = train(make_model(seed=0), Recipe(steps=500, batch_size=4), eval_every=5, progress=False)
    assert log.steps == [5, 7]
    assert f"(training capped at 7 steps by {MAX_STEPS_VARIABLE})" in capsys.readouterr().out
    monkeypatch.setenv(MAX_STEPS_VARIABLE, "50")  # above the recipe's steps: no effect, no message
    log = train(make_model(seed=0), Recipe(steps=10, batch_size=4), eval_every=5, progress=False)
    assert log.steps == [5, 10] and "capped" not in capsys.readouterr().out


def test_a_step_cap_that_is_not_a_number_is_refused(monkeypatch):
    monkeypatch.setenv(MAX_STEPS_VARIABLE, "five")
    with pytest.raises(ValueError, match="whole number of steps, not 'five'"):
        train(make_model(seed=0), Recipe(steps=10, batch_size=4), progress=False)


@pytest.mark.parametrize("second, prev, expected", [(0.05, 0.9, True), (0.2, 0.9, False),
                                                     (0.05, 0.5, False)])
def test_finish_line_needs_both_low_loss_and_a_previous_token_head(second, prev, expected):
    log = TrainingLog()
    log.second_half.append(second)
    scores = torch.zeros(2, 4)
    scores[0, 2] = prev
    scores[1, 0] = 0.99  # a previous-token head in layer 1 does not count
    log.scores["previous"].append(scores)
    assert has_genuine_circuit(log) is expected


def test_the_recipe_switches_data_at_its_step():
    seen = []

    def step(model, optimizer, tokens):
        seen.append(len(set(tokens[0].tolist())))
        return default_step(model, optimizer, tokens)

    recipe = Recipe(steps=6, batch_size=2, data=Data(periods=25), switch_at=4,
                    later_data=Data(periods=25, alphabet=1))
    train(make_model(seed=0), recipe, step_fn=step, progress=False)
    assert seen[3:] == [1, 1, 1] and all(n > 1 for n in seen[:3])
    assert recipe.data_at(3) == Data(periods=25) and recipe.data_at(4).alphabet == 1


def test_learning_rate_is_constant_then_falls_linearly_to_zero():
    recipe = Recipe(steps=10, decay_from=6)
    factors = [recipe.lr_factor(step) for step in range(1, 11)]
    assert factors[:6] == [1.0] * 6
    assert all(a > b for a, b in zip(factors[5:], factors[6:])) and factors[-1] > 0
    assert recipe.lr_factor(11) == 0.0 and Recipe(steps=10).lr_factor(10) == 1.0
