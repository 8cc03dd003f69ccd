# A mistake: k_composition_scores reading the query side. Its visible test, test_k_composition_scores, fails and says what is wrong.
def k_composition_scores(model):
    return torch.tensor([[composition_score(model.OV[0, j].AB, model.QK[1, i].AB) for j in range(4)]
                         for i in range(4)])
