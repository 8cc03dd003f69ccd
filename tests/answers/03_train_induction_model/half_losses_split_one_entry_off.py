# A mistake: half_losses split one entry off. Its visible test, test_half_losses, fails and says what is wrong.
def half_losses(logits, tokens, half_len):
    losses = per_token_loss(logits, tokens)
    return losses[:, :half_len - 1].mean().item(), losses[:, half_len - 1:].mean().item()
