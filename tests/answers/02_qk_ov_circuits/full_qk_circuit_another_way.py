# full_qk_circuit, correct but written differently from the solution: scores full marks.
def full_qk_circuit(model, layer, head):
    return model.W_E @ model.QK[layer, head] @ model.W_E.T
