# k_composition_scores, correct but written differently from the solution: scores full marks.
def k_composition_scores(model):
    return model.all_composition_scores("K")[0, :, 1, :].T
