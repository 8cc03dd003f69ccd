# dominant_offset, correct but written differently from the solution: scores full marks.
def dominant_offset(pattern):
    flat = pattern.reshape(-1, *pattern.shape[-2:]).float().cpu()
    seq = flat.shape[-1]
    mass = [0.0] * seq
    for q in range(seq):
        for k in range(q + 1):
            mass[q - k] += float(flat[:, q, k].sum())
    return -max(range(seq), key=lambda d: mass[d])
