# zero_ablate_head, correct but written differently from the solution: scores full marks.
def zero_ablate_head(z, hook, head):
    keep = torch.ones(z.shape[2], device=z.device)
    keep[head] = 0.0
    return z * keep[None, None, :, None]
