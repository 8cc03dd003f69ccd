# composition_score, correct but written differently from the solution: scores full marks.
def composition_score(W_A, W_B):
    frob = lambda m: (m ** 2).sum().sqrt()
    return float(frob(W_A @ W_B) / frob(W_A) / frob(W_B))
