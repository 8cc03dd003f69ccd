# A mistake: top1_diagonal_accuracy looking down columns. Its visible test, test_top1_diagonal_accuracy, fails and says what is wrong.
def top1_diagonal_accuracy(matrix):
    dense = getattr(matrix, "AB", matrix)
    return (dense.argmax(0) == torch.arange(dense.shape[0])).float().mean().item()
