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


def test_an_alphabet_limits_each_rows_distinct_tokens():
    tokens = periodic_tokens(200, 25, 50, generator=torch.Generator().manual_seed(3), alphabet=(3, 6))
    distinct = [len(set(row.tolist())) for row in tokens]
    assert max(distinct) <= 6 and min(distinct) >= 1
    assert 3 in distinct or 4 in distinct
    # the subsets themselves are random: across rows, every token id gets used
    assert len(set(tokens.flatten().tolist())) == D_VOCAB
    assert torch.equal(tokens[:, :25], tokens[:, 25:])


def test_an_alphabet_of_the_whole_vocabulary_is_still_uniform():
    tokens = periodic_tokens(2000, 50, 50, generator=torch.Generator().manual_seed(4), alphabet=D_VOCAB)
    freq = torch.bincount(tokens.flatten(), minlength=D_VOCAB).float() / tokens.numel()
    assert freq.min() > 0.8 / D_VOCAB and freq.max() < 1.2 / D_VOCAB


@pytest.mark.parametrize("bad", [0, 65, (0, 10)])
def test_impossible_alphabets_are_refused(bad):
    with pytest.raises(ValueError):
        periodic_tokens(2, 10, 50, alphabet=bad)
