# A mistake: composition_score dividing by the sum of norms. Its visible test, test_composition_score, fails and says what is wrong.
def composition_score(W_A, W_B):
    return (torch.linalg.norm(W_A @ W_B) / (torch.linalg.norm(W_A) + torch.linalg.norm(W_B))).item()
