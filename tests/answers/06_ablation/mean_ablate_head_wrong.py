# mean_ablate_head, wrong: test_mean_ablate_head gives no points, every other test full marks.
def mean_ablate_head(z, hook, head):
    # averages over positions instead of over the batch
    z[:, :, head] = z[:, :, head].mean(1, keepdim=True)
    return z
