# make_repeated_batch, correct but written differently from the solution: scores full marks.
def make_repeated_batch(batch_size, half_len, d_vocab, generator=None):
    return torch.randint(d_vocab, (batch_size, half_len), generator=generator).repeat(1, 2)
