# A mistake: duplicate_token_score blind to a BOS token. Its visible test, test_duplicate_token_score, fails and says what is wrong.
def duplicate_token_score(pattern, half_len):
    return torch.diagonal(pattern, offset=-half_len, dim1=-2, dim2=-1).mean(-1)
