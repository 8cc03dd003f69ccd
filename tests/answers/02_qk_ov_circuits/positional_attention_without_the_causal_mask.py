# A mistake: positional_attention without the causal mask. Its visible test, test_positional_attention, fails and says what is wrong.
def positional_attention(model, layer, head):
    q = model.W_pos @ model.W_Q[layer, head] + model.b_Q[layer, head]
    k = model.W_pos @ model.W_K[layer, head] + model.b_K[layer, head]
    return (q @ k.T / math.sqrt(model.cfg.d_head)).softmax(-1)
