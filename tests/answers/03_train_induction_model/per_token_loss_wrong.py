# per_token_loss, wrong: test_per_token_loss gives no points, every other test full marks.
def per_token_loss(logits, tokens):
    # forgets the shift: compares each position's logits with its own token
    return F.cross_entropy(logits.transpose(1, 2), tokens, reduction="none")
