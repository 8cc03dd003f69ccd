# A mistake: positional_attention without biases. Its visible test, test_positional_attention, fails and says what is wrong.
def positional_attention(model, layer, head):
    scores = (model.W_pos @ model.W_Q[layer, head]) @ (model.W_pos @ model.W_K[layer, head]).T
    scores = scores / math.sqrt(model.cfg.d_head)
    return scores.masked_fill(torch.ones_like(scores, dtype=torch.bool).triu(1), float("-inf")).softmax(-1)
