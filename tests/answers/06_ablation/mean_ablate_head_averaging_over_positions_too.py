# A mistake: mean_ablate_head averaging over positions too. Its visible test, test_mean_ablate_head, fails and says what is wrong.
def mean_ablate_head(z, hook, head):
    z[:, :, head] = z[:, :, head].mean((0, 1), keepdim=True)
    return z
