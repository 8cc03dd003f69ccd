import pytest
import torch

from induction_circuits.data import D_VOCAB, TOKEN_LABELS, periodic_tokens, token_labels


def test_fixed_period_rows_repeat_their_first_block():
    tokens = periodic_tokens(8, 25, 50, generator=torch.Generator().manual_seed(0))
    assert tokens.shape == (8, 50) and tokens.dtype == torch.int64
    assert torch.equal(tokens[:, :25], tokens[:, 25:])
    assert tokens.min() >= 0 and tokens.max() < D_VOCAB


def test_ranged_periods_vary_per_row_and_each_row_is_periodic():
    tokens = periodic_tokens(256, (4, 25), 50, generator=torch.Generator().manual_seed(1))
    periods = []
    for row in tokens:
        period = next(p for p in range(1, 51) if torch.equal(row[p:], row[:-p]))
        periods.append(period)
    # A random block can be periodic by accident with a shorter period, but the
    # drawn periods should span the range.
    assert min(periods) <= 5 and max(periods) == 25 and len(set(periods)) > 15


def test_tensor_of_periods_is_used_row_by_row():
    periods = torch.tensor([3, 7, 49])
    tokens = periodic_tokens(3, periods, 50, generator=torch.Generator().manual_seed(2))
    for row, p in zip(tokens, periods.tolist()):
        assert torch.equal(row[p:], row[:-p])


def test_same_seed_same_tokens_and_different_seed_different_tokens():
    a = periodic_tokens(4, (4, 25), generator=torch.Generator().manual_seed(5))
    b = periodic_tokens(4, (4, 25), generator=torch.Generator().manual_seed(5))
    c = periodic_tokens(4, (4, 25), generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("bad", [0, 51, (0, 10)])
def test_impossible_periods_are_refused(bad):
    with pytest.raises(ValueError):
        periodic_tokens(2, bad, 50)


def test_labels_are_distinct_short_and_follow_ids():
    assert len(TOKEN_LABELS) == D_VOCAB == len(set(TOKEN_LABELS))
    assert all(len(label) == 2 for label in TOKEN_LABELS)
    assert token_labels(torch.tensor([0, 63, 0])) == [TOKEN_LABELS[0], TOKEN_LABELS[63], TOKEN_LABELS[0]]
    assert token_labels([1, 2]) == TOKEN_LABELS[1:3]
