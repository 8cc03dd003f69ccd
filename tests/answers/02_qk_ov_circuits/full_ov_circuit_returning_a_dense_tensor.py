# A mistake: full_ov_circuit returning a dense tensor. Its visible test, test_full_ov_circuit, fails and says what is wrong.
def full_ov_circuit(model, layer, head):
    return model.W_E @ model.W_V[layer, head] @ model.W_O[layer, head] @ model.W_U
