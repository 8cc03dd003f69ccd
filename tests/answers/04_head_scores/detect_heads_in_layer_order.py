# A mistake: detect_heads in layer order. Its visible test, test_detect_heads, fails and says what is wrong.
def detect_heads(scores, threshold):
    return [(l, h, float(scores[l, h])) for l in range(scores.shape[0]) for h in range(scores.shape[1])
            if scores[l, h] >= threshold]
