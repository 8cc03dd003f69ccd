import torch
from transformer_lens import head_detector

from induction_circuits.data import periodic_tokens
from induction_circuits.scores import scores_from_patterns, target_masks


def test_masks_match_transformer_lens_detection_patterns():
    tokens = periodic_tokens(3, (5, 20), 40, generator=torch.Generator().manual_seed(0))
    masks = target_masks(tokens)
    for row, name in [(0, "previous"), (1, "duplicate"), (2, "induction")]:
        for b in range(3):
            ours = masks[name][b].float()
            theirs = getattr(head_detector, f"get_{name}_token_head_detection_pattern"
                             if name != "induction" else "get_induction_head_detection_pattern")(
                tokens[b:b + 1])
            assert torch.equal(ours, theirs), name


def _pattern_from_mask(mask):
    """A causal pattern that puts all attention on the mask's keys (or on itself if none)."""
    pattern = mask.float()
    no_target = pattern.sum(-1) == 0
    eye = torch.eye(mask.shape[-1]).expand_as(pattern)
    pattern = torch.where(no_target[..., None], eye, pattern)
    return pattern / pattern.sum(-1, keepdim=True)


def test_a_perfect_head_scores_one_on_its_own_kind_and_low_on_the_others():
    tokens = periodic_tokens(4, 25, 50, generator=torch.Generator().manual_seed(1))
    masks = target_masks(tokens)
    heads = [_pattern_from_mask(masks[name]) for name in ("previous", "induction")]
    patterns = torch.stack(heads, dim=1)[None]  # [layers=1, batch, heads=2, q, k]
    scores = scores_from_patterns(patterns, tokens)
    assert torch.allclose(scores["previous"][0, 0], torch.tensor(1.0))
    assert torch.allclose(scores["induction"][0, 1], torch.tensor(1.0))
    assert scores["induction"][0, 0] < 0.1 and scores["previous"][0, 1] < 0.1


def test_uniform_attention_scores_low():
    tokens = periodic_tokens(2, 25, 50, generator=torch.Generator().manual_seed(2))
    uniform = torch.ones(50, 50).tril()
    uniform = (uniform / uniform.sum(-1, keepdim=True)).expand(1, 2, 1, 50, 50)
    scores = scores_from_patterns(uniform, tokens)
    assert all((value < 0.2).all() for value in scores.values())
