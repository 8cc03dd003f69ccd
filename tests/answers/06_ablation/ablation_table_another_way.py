# ablation_table, correct but written differently from the solution: scores full marks.
def ablation_table(model, tokens, half_len, method="zero"):
    logits = model(tokens)
    clean = F.cross_entropy(logits[:, half_len:-1].transpose(1, 2), tokens[:, half_len + 1:]).item()
    table = torch.zeros(model.cfg.n_layers, model.cfg.n_heads)
    for layer in range(model.cfg.n_layers):
        for head in range(model.cfg.n_heads):
            table[layer, head] = ablated_second_half_loss(model, tokens, layer, head, method) - clean
    return table
