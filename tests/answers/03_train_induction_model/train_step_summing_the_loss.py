# A mistake: train_step summing the loss. Its visible test, test_train_step, fails and says what is wrong.
def train_step(model, optimizer, tokens):
    loss = per_token_loss(model(tokens), tokens).sum()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
