# detect_heads, correct but written differently from the solution: scores full marks.
def detect_heads(scores, threshold):
    found = [(l, h, scores[l, h].item()) for l, h in (scores >= threshold).nonzero().tolist()]
    found.sort(key=lambda item: -item[2])
    return found
