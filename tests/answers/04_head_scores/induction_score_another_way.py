# induction_score, correct but written differently from the solution: scores full marks.
def induction_score(pattern, half_len):
    seq = pattern.shape[-1]
    queries = torch.arange(seq - half_len, seq)
    return pattern[..., queries, queries - half_len + 1].sum(-1) / half_len
