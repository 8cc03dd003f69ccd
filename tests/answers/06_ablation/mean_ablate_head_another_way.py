# mean_ablate_head, correct but written differently from the solution: scores full marks.
def mean_ablate_head(z, hook, head):
    out = z.clone()
    out[:, :, head, :] = z[:, :, head, :].sum(0) / z.shape[0]
    return out
