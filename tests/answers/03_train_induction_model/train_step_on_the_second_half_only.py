# A mistake: train_step on the second half only. Its visible test, test_train_step, fails and says what is wrong.
def train_step(model, optimizer, tokens):
    loss = per_token_loss(model(tokens), tokens)[:, 25:].mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
