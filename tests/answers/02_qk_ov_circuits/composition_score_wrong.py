# composition_score, wrong: test_composition_score gives no points, every other test full marks.
def composition_score(W_A, W_B):
    # forgets to normalise
    return torch.linalg.norm(W_A @ W_B).item()
