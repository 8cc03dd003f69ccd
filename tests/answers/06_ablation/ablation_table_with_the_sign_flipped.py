# A mistake: ablation_table with the sign flipped. Its visible test, test_ablation_table, fails and says what is wrong.
def ablation_table(model, tokens, half_len, method="zero"):
    clean = per_token_loss(model(tokens), tokens)[:, half_len:].mean().item()
    return torch.tensor([[clean - ablated_second_half_loss(model, tokens, l, h, method)
                          for h in range(model.cfg.n_heads)] for l in range(model.cfg.n_layers)])
