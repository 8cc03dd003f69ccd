# lens_accuracy, wrong: test_lens_accuracy gives no points, every other test full marks.
def lens_accuracy(lens_logits, tokens, half_len):
    # counts the unpredictable first token of the repeat too
    predictions = lens_logits[:, :, half_len - 1:-1].argmax(-1)
    return (predictions == tokens[:, half_len:]).float().mean((1, 2))
