# positional_attention, correct but written differently from the solution: scores full marks.
def positional_attention(model, layer, head):
    q = torch.einsum("pd,dh->ph", model.W_pos, model.W_Q[layer, head]) + model.b_Q[layer, head]
    k = torch.einsum("pd,dh->ph", model.W_pos, model.W_K[layer, head]) + model.b_K[layer, head]
    scores = torch.einsum("qh,kh->qk", q, k) / model.cfg.d_head ** 0.5
    allowed = torch.tril(torch.ones_like(scores)).bool()
    return torch.where(allowed, scores, torch.tensor(float("-inf"))).softmax(dim=1)
