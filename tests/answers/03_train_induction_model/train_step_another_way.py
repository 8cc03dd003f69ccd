# train_step, correct but written differently from the solution: scores full marks.
def train_step(model, optimizer, tokens):
    optimizer.zero_grad()
    logits = model(tokens)
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1))
    loss.backward()
    optimizer.step()
    return float(loss)
