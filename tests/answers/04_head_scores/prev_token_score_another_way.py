# prev_token_score, correct but written differently from the solution: scores full marks.
def prev_token_score(pattern):
    queries = torch.arange(1, pattern.shape[-1])
    return pattern[..., queries, queries - 1].mean(-1)
