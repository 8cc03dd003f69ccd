# A mistake: detect_heads with a strict threshold. Its visible test, test_detect_heads, fails and says what is wrong.
def detect_heads(scores, threshold):
    found = [(l, h, float(scores[l, h])) for l in range(scores.shape[0]) for h in range(scores.shape[1])
             if scores[l, h] > threshold]
    return sorted(found, key=lambda item: -item[2])
