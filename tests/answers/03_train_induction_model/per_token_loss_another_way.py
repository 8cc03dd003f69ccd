# per_token_loss, correct but written differently from the solution: scores full marks.
def per_token_loss(logits, tokens):
    return F.cross_entropy(logits[:, :-1].transpose(1, 2), tokens[:, 1:], reduction="none")
