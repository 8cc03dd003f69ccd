# top1_diagonal_accuracy, correct but written differently from the solution: scores full marks.
def top1_diagonal_accuracy(matrix):
    dense = getattr(matrix, "AB", matrix)
    return float((torch.diagonal(dense) == dense.max(-1).values).float().mean())
