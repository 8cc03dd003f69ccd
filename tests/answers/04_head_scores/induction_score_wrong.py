# induction_score, wrong: test_induction_score gives no points, every other test full marks.
def induction_score(pattern, half_len):
    # looks at the earlier copy itself, not at the token after it
    return torch.diagonal(pattern, offset=-half_len, dim1=-2, dim2=-1)[..., -half_len:].mean(-1)
