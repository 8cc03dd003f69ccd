# dominant_offset, wrong: test_dominant_offset gives no points, every other test full marks.
def dominant_offset(pattern):
    # forgets that offsets count backwards
    seq = pattern.shape[-1]
    mass = torch.stack([torch.diagonal(pattern, offset=-d, dim1=-2, dim2=-1).sum() for d in range(seq)])
    return int(mass.argmax())
