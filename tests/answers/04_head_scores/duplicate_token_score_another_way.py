# duplicate_token_score, correct but written differently from the solution: scores full marks.
def duplicate_token_score(pattern, half_len):
    seq = pattern.shape[-1]
    mask = torch.zeros(seq, seq)
    for q in range(seq - half_len, seq):
        mask[q, q - half_len] = 1.0
    return (pattern * mask).sum((-2, -1)) / half_len
