# lens_accuracy, correct but written differently from the solution: scores full marks.
def lens_accuracy(lens_logits, tokens, half_len):
    depth, batch = lens_logits.shape[:2]
    result = torch.zeros(depth)
    for d in range(depth):
        hits = 0
        for b in range(batch):
            for i in range(half_len, 2 * half_len - 1):
                hits += int(lens_logits[d, b, i].argmax() == tokens[b, i + 1])
        result[d] = hits / (batch * (half_len - 1))
    return result
