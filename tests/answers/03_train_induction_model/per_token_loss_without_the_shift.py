# A mistake: per_token_loss without the shift. Its visible test, test_per_token_loss, fails and says what is wrong.
def per_token_loss(logits, tokens):
    return F.cross_entropy(logits[:, :-1].transpose(1, 2), tokens[:, :-1], reduction="none")
