# half_losses, correct but written differently from the solution: scores full marks.
def half_losses(logits, tokens, half_len):
    losses = per_token_loss(logits, tokens)
    return losses[:, :half_len].mean(), losses[:, half_len:].mean()
