# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
#   language_info:
#     name: python
# ---

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_title", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # 3 · Train your own induction model
#
# In notebooks 1 and 2 you took apart a model someone else trained. Here you train one
# yourself, and you will find that *what* it learns depends on the data you give it in a
# way the loss curve does not show.
#
# **Time:** about 90 minutes if transformer internals are new to you. **Runs in:** about a
# minute on a laptop CPU, less on a GPU.
#
# **By the end you will have**
# - built the repeated-sequence task and the losses that separate learning from luck;
# - written the training step, and trained a 2-layer, attention-only transformer with it;
# - found that a model trained on the classic 25+25 task scores perfectly and yet has not
#   learned induction at all;
# - changed the data so that only a real induction circuit works, and watched that circuit
#   appear, suddenly, part-way through training;
# - saved your model for notebooks 4 to 6.
#
# **Exercises:** four to code (★ short, ★★ needs some thought), three written answers
# (graded by your instructor), three recap questions. Each coded exercise is followed by a
# test cell: run it, and if it passes you will see `... passed`. The grader runs further,
# hidden tests on the same function, so make it correct in general, not just for the
# visible test.

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_prerequisites", "locked": true, "schema_version": 3, "solution": false, "task": false}
# > **What you need from earlier notebooks.** Nothing you have to run: every function used
# > here is written or imported below. Three ideas are borrowed, and summarised here.
# >
# > - **The model.** A 2-layer transformer with 4 attention heads per layer, attention only
# >   (no MLP blocks, no LayerNorm), `d_model` 64 (each head works in `d_head` 16), a
# >   vocabulary of 64 tokens and a context of 50 positions: about 45,000 parameters.
# >   `make_model(seed)` builds a fresh one. Heads are named by layer and number: L0H1 is
# >   head 1 of layer 0. (Notebook 1 introduces it.)
# > - **Attention.** Section 4 has a short primer: queries, keys and values, the causal
# >   mask, the attention pattern, the residual stream. (Notebook 2 in full.)
# > - **Induction.** Given "... A B ... A", an *induction circuit* predicts B: it finds the
# >   earlier A and copies what followed it. It takes two heads in two layers. A
# >   *previous-token head* in layer 0 writes into each position the token just before it;
# >   an *induction head* in layer 1, at the second A, looks for the position whose previous
# >   token was A (that is where B sits) and copies B into the prediction. (Notebook 2 reads
# >   both heads from the weights; notebook 4 measures them by their attention, notebook 5
# >   draws them, notebook 6 removes them to prove they matter.)

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_before_start", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Before you start.** The first code cell, just below the Colab badge, installs the course toolkit,
# `induction_circuits`, if it is missing: on Colab run it first, and it takes about a minute
# (it keeps Colab's own torch); on your own machine `make lab` (see the README) has installed
# it already, and the cell does nothing. Then run the next cell: it imports what this notebook
# uses and prints one line naming the device you run on, GPU or CPU. Nothing here needs a GPU.
# This course runs on TransformerLens 4 and its `TransformerBridge`: tutorials written for the
# older `HookedTransformer` need the 4.x names to run (notebook 1 says which).

# %% nbgrader={"grade": false, "grade_id": "code_setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import math

import torch
import torch.nn.functional as F

from induction_circuits.data import periodic_tokens, token_labels
from induction_circuits.model import make_model, own_checkpoint_path, save_checkpoint
from induction_circuits.plotting import plot_head_scores, plot_training
from induction_circuits.scores import attention_patterns, circuit_scores
from induction_circuits.setup import start
from induction_circuits.training import INDUCTION_RECIPE, SHORTCUT_RECIPE, train

device = start()


# %% [markdown] nbgrader={"grade": false, "grade_id": "md_task", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1 · The task: 25 random tokens, then the same 25 again
#
# Every sequence has 50 tokens from a vocabulary of 64. The first 25 are drawn uniformly at
# random; the last 25 repeat them exactly.
#
# Think about what a perfect model can do at each position:
#
# - **Before the repeat** the next token is a fresh uniform draw. Nothing in the context
#   helps, so the best possible prediction is uniform over the 64 tokens, and its loss is
#   $\ln 64 \approx 4.16$ nats (a nat is the unit of a loss measured with the natural
# logarithm). No model can do better on average (a model that learns the period can on one
# position, the repeat's first token: section 5 comes back to it).
# - **After the repeat starts** every next token is already in the context: at position
#   $25 + i$ the next token is the one at position $i + 1$. A model that can find the earlier
#   copy of the current token and read off what followed it can predict perfectly, with
#   loss near 0.
#
# The gap between those two losses is our measure of in-context copying. Token ids are
# printed with short labels (`ba`, `be`, ... one per id) so a repeat is easy to spot by eye.
#
# ### Exercise 1 ★ · `make_repeated_batch`
#
# Write `make_repeated_batch(batch_size, half_len, d_vocab, generator=None)`. It returns an
# `int64` tensor of shape `[batch_size, 2 * half_len]` in which each row is `half_len` tokens
# drawn uniformly from `0 ... d_vocab - 1`, followed by the same `half_len` tokens again.
# Draw the random tokens with `generator` so that a seeded generator gives the same batch
# every time.
#
# *Hint:* `torch.randint(low, high, size, generator=generator)` draws from `low` up to
# **but not including** `high`; `torch.cat(..., dim=1)` joins along positions.

# %% nbgrader={"grade": false, "grade_id": "make_repeated_batch", "locked": false, "schema_version": 3, "solution": true, "task": false}
def make_repeated_batch(batch_size, half_len, d_vocab, generator=None):
    ### BEGIN SOLUTION
    first = torch.randint(0, d_vocab, (batch_size, half_len), generator=generator)
    return torch.cat([first, first], dim=1)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_make_repeated_batch", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
batch = make_repeated_batch(4, 25, 64, generator=torch.Generator().manual_seed(0))
assert batch.shape == (4, 50), f"expected shape (4, 50), got {tuple(batch.shape)}"
assert batch.dtype == torch.int64, f"expected int64 tokens, got {batch.dtype}"
assert torch.equal(batch[:, :25], batch[:, 25:]), "the second half must repeat the first"
print("make_repeated_batch passed the visible test:", " ".join(token_labels(batch[0])))
### BEGIN HIDDEN TESTS
def _check_make_repeated_batch():
    for size, half, vocab in [(1, 1, 2), (3, 7, 5), (16, 25, 64), (2, 12, 1000)]:
        out = make_repeated_batch(size, half, vocab, generator=torch.Generator().manual_seed(1))
        assert isinstance(out, torch.Tensor) and out.dtype == torch.int64, \
            f"make_repeated_batch({size}, {half}, {vocab}) must return an int64 tensor"
        assert tuple(out.shape) == (size, 2 * half), \
            f"make_repeated_batch({size}, {half}, {vocab}) has shape {tuple(out.shape)}, expected {(size, 2 * half)}"
        assert torch.equal(out[:, :half], out[:, half:]), \
            f"make_repeated_batch({size}, {half}, {vocab}): the second half differs from the first"
        assert out.min() >= 0 and out.max() < vocab, \
            f"make_repeated_batch(..., d_vocab={vocab}) produced tokens outside 0..{vocab - 1}"
    one = make_repeated_batch(8, 25, 64, generator=torch.Generator().manual_seed(7))
    two = make_repeated_batch(8, 25, 64, generator=torch.Generator().manual_seed(7))
    other = make_repeated_batch(8, 25, 64, generator=torch.Generator().manual_seed(8))
    assert torch.equal(one, two), "the same seeded generator must give the same batch"
    assert not torch.equal(one, other), "different seeds should give different batches: use generator"
    assert make_repeated_batch(2, 5, 64).shape == (2, 10), "generator must be optional"
    big = make_repeated_batch(4000, 25, 8, generator=torch.Generator().manual_seed(3))[:, :25]
    freq = torch.bincount(big.flatten(), minlength=8).float() / big.numel()
    assert freq.min() > 0.115 and freq.max() < 0.135, \
        f"tokens should be uniform over 0..d_vocab-1; frequencies were {freq.tolist()}"
    assert (big[:, 0] != big[:, 1]).any() and (big[0] != big[1]).any(), \
        "tokens must vary across positions and across rows"
_check_make_repeated_batch()
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_loss_every_position", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2 · Loss at every position
#
# A language model outputs logits of shape `[batch, pos, d_vocab]`, and the logits at
# position $i$ are its prediction for the token at position $i + 1$. So the last position's
# logits predict nothing we have, and the first token is never predicted. Keeping the loss
# *per position* instead of averaging it straight away is what lets us compare the two halves.
#
# ### Exercise 2 ★ · `per_token_loss`
#
# Write `per_token_loss(logits, tokens)`: given logits `[batch, pos, d_vocab]` and tokens
# `[batch, pos]`, return the cross-entropy of each prediction, shape `[batch, pos - 1]`, where
# entry `[b, i]` is the loss of predicting `tokens[b, i + 1]` from `logits[b, i]`.
#
# *Hints:* `F.log_softmax` then `.gather(-1, ...)` on the targets works; so does
# `F.cross_entropy(..., reduction="none")`, which wants the class dimension second.

# %% nbgrader={"grade": false, "grade_id": "per_token_loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
def per_token_loss(logits, tokens):
    ### BEGIN SOLUTION
    log_probs = F.log_softmax(logits[:, :-1], dim=-1)
    return -log_probs.gather(-1, tokens[:, 1:, None])[..., 0]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_per_token_loss", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
def _reference_per_token_loss(logits, tokens):
    # Later exercises are graded with this in place of the learner's per_token_loss,
    # so a mistake here costs this exercise's points only.
    return F.cross_entropy(logits[:, :-1].transpose(1, 2), tokens[:, 1:], reduction="none")
### END HIDDEN TESTS
_tokens = torch.tensor([[0, 1, 2, 3]])
_uniform = torch.zeros(1, 4, 5)
_loss = per_token_loss(_uniform, _tokens)
assert _loss.shape == (1, 3), f"expected shape (1, 3), got {tuple(_loss.shape)}"
assert torch.allclose(_loss, torch.full((1, 3), math.log(5))), "uniform logits over 5 tokens cost ln 5 each"
_sure = torch.full((1, 4, 5), -20.0)
_sure[0, [0, 1, 2], [1, 2, 3]] = 20.0  # position i is sure the next token is i + 1: right
assert _loss.dtype.is_floating_point and per_token_loss(_sure, _tokens).max() < 1e-3, \
    "logits at position i that are sure of tokens[i + 1] should cost (almost) nothing"
print("per_token_loss passed the visible test")
### BEGIN HIDDEN TESTS
def _check_per_token_loss():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 6, 11, generator=g)
    tokens = torch.randint(0, 11, (3, 6), generator=g)
    expected = torch.stack([torch.stack([
        -torch.log_softmax(logits[b, i], -1)[tokens[b, i + 1]] for i in range(5)]) for b in range(3)])
    got = per_token_loss(logits, tokens)
    assert tuple(got.shape) == (3, 5), f"shape should be [batch, pos - 1] = (3, 5), got {tuple(got.shape)}"
    assert torch.allclose(got.float(), expected, atol=1e-5), \
        "entry [b, i] must be the cross-entropy of logits[b, i] against tokens[b, i + 1]"
    changed = logits.clone()
    changed[:, -1] = 100.0
    assert torch.allclose(per_token_loss(changed, tokens).float(), expected, atol=1e-5), \
        "the last position's logits predict nothing in the sequence and must not affect the loss"
    sure = torch.full((2, 4, 7), -50.0)
    toks = torch.tensor([[1, 2, 3, 4], [6, 5, 4, 3]])
    for b in range(2):
        for i in range(3):
            sure[b, i, toks[b, i + 1]] = 50.0
    assert per_token_loss(sure, toks).abs().max() < 1e-4, "a certain, correct prediction costs 0"
_check_per_token_loss()
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_about_half_losses", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### Exercise 3 ★★ · `half_losses`
#
# Write `half_losses(logits, tokens, half_len)`, returning two numbers: the mean per-token loss
# on predictions that **cannot** be made from context (the first half) and the mean on those
# that **can** (the second half).
#
# Mind the off-by-one. `per_token_loss` entry `i` predicts token `i + 1`, so entries
# `0 ... half_len - 1` predict tokens `1 ... half_len`. The last of those, token `half_len`,
# is the first token of the repeat: nothing before it says a repeat is about to begin, so it
# is as unpredictable as the rest of the first half. Entries `half_len` onwards predict
# tokens `half_len + 1 ... 2 * half_len - 1`, each a copy of a token in the first half.
#
# So: **first** = mean of entries `[:, :half_len]`, **second** = mean of entries `[:, half_len:]`.
# Return them as a tuple `(first, second)` of Python floats or 0-d tensors.

# %% nbgrader={"grade": false, "grade_id": "half_losses", "locked": false, "schema_version": 3, "solution": true, "task": false}
def half_losses(logits, tokens, half_len):
    ### BEGIN SOLUTION
    losses = per_token_loss(logits, tokens)
    return losses[:, :half_len].mean().item(), losses[:, half_len:].mean().item()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_half_losses", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
_learner_per_token_loss = globals().get("per_token_loss")
per_token_loss = _reference_per_token_loss
### END HIDDEN TESTS
_tokens = periodic_tokens(2, 5, 10, d_vocab=7, generator=torch.Generator().manual_seed(0))
_first, _second = half_losses(torch.zeros(2, 10, 7), _tokens, 5)
assert abs(float(_first) - math.log(7)) < 1e-4 and abs(float(_second) - math.log(7)) < 1e-4, \
    "with uniform logits both halves should cost ln 7"
_logits = torch.zeros(2, 10, 7)
for _i in range(5, 9):  # sure and right about every copied token, uniform before
    _logits[[0, 1], _i, _tokens[:, _i + 1]] = 30.0
_first, _second = half_losses(_logits, _tokens, 5)
assert abs(float(_second)) < 1e-3, f"second half: entries 5 to 8 are all certain and right, expected 0, got {float(_second):.3f}"
assert abs(float(_first) - math.log(7)) < 1e-3, f"first half: entries 0 to 4 are uniform, expected ln 7 = {math.log(7):.3f}, got {float(_first):.3f}"
print("half_losses passed the visible test")
### BEGIN HIDDEN TESTS
def _check_half_losses():
    vocab, half = 9, 6
    tokens = periodic_tokens(3, half, 2 * half, d_vocab=vocab, generator=torch.Generator().manual_seed(2))
    def confident_at(entries):
        logits = torch.zeros(3, 2 * half, vocab)
        for i in entries:
            logits[torch.arange(3), i, tokens[:, i + 1]] = 60.0
        return logits
    first, second = half_losses(confident_at(range(half, 2 * half - 1)), tokens, half)
    assert abs(float(first) - math.log(vocab)) < 1e-3 and abs(float(second)) < 1e-3, \
        f"perfect on the repeat and uniform before it: expected ({math.log(vocab):.3f}, 0), got ({float(first):.3f}, {float(second):.3f})"
    first, second = half_losses(confident_at([half - 1]), tokens, half)
    expected_first = math.log(vocab) * (half - 1) / half
    assert abs(float(first) - expected_first) < 1e-3, \
        "the prediction of the repeat's first token (entry half_len - 1) belongs to the first half"
    assert abs(float(second) - math.log(vocab)) < 1e-3, "the second half starts at entry half_len"
    first, second = half_losses(confident_at(range(0, half)), tokens, half)
    assert abs(float(first)) < 1e-3 and abs(float(second) - math.log(vocab)) < 1e-3, \
        "the first half is entries 0 .. half_len - 1"
_check_half_losses()
per_token_loss = _learner_per_token_loss
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_test_half_losses", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** both halves cost about 4.2 nats on a model that has not been trained:
# it starts out guessing, close to uniform, everywhere.

# %% nbgrader={"grade": false, "grade_id": "untrained_model", "locked": true, "schema_version": 3, "solution": false, "task": false}
untrained = make_model(seed=0, device=device)

# %% nbgrader={"grade": false, "grade_id": "code_untrained_half_losses", "locked": true, "schema_version": 3, "solution": false, "task": false}
sample = make_repeated_batch(64, 25, 64, generator=torch.Generator().manual_seed(0)).to(device)
with torch.no_grad():
    first, second = half_losses(untrained(sample), sample, 25)
print(f"untrained model: first half {float(first):.2f}, second half {float(second):.2f}, ln 64 = {math.log(64):.2f}")


# %% [markdown] nbgrader={"grade": false, "grade_id": "md_one_step", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3 · One step of training
#
# ### Exercise 4 ★★ · `train_step`
#
# Write `train_step(model, optimizer, tokens)`: run the model on `tokens`, take the **mean of
# `per_token_loss` over every position**, clear the old gradients, backpropagate, take one
# optimizer step, and return the loss as a Python float.
#
# We train on every position, the unpredictable ones included. The model is never told where
# the repeat starts; it has to learn when copying pays off.
#
# *Hints:* the order is `optimizer.zero_grad()`, `loss.backward()`, `optimizer.step()`.
# Forgetting `zero_grad` makes each step add to the previous step's gradients. `.item()`
# turns a one-element tensor into a float.

# %% nbgrader={"grade": false, "grade_id": "train_step", "locked": false, "schema_version": 3, "solution": true, "task": false}
def train_step(model, optimizer, tokens):
    ### BEGIN SOLUTION
    loss = per_token_loss(model(tokens), tokens).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_train_step", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
_learner_per_token_loss = globals().get("per_token_loss")
per_token_loss = _reference_per_token_loss
### END HIDDEN TESTS
_model = make_model(seed=1, device=device)
_batch = periodic_tokens(8, 25, 50, generator=torch.Generator().manual_seed(0), device=device)
# What one step must give, worked out first on a twin with the same weights.
_twin = make_model(seed=1, device=device)
_twin_loss = per_token_loss(_twin(_batch), _batch).mean()
_twin_loss.backward()
_expected, _grads = _twin_loss.item(), [p.grad.clone() for p in _twin.parameters()]
_frozen = torch.optim.SGD(_model.parameters(), lr=0.0)  # lr 0: the weights never move
_first = train_step(_model, _frozen, _batch)
train_step(_model, _frozen, _batch)
assert isinstance(_first, float), "train_step must return a Python float (use .item())"
assert abs(_first - _expected) < 1e-4, \
    f"return the mean of per_token_loss over every position: expected {_expected:.4f}, got {_first:.4f}"
assert all(torch.allclose(p.grad, g, atol=1e-6) for p, g in zip(_model.parameters(), _grads)), \
    "after a second step on the same weights the gradient is not one step's: clear old gradients every step"
_learning = make_model(seed=1, device=device)
_opt = torch.optim.AdamW(_learning.parameters(), lr=1e-2)
_losses = [train_step(_learning, _opt, _batch) for _ in range(5)]
assert _losses[-1] < _losses[0], f"training on one batch should lower its loss: {_losses}"
print("train_step passed the visible test:", [round(x, 3) for x in _losses])
### BEGIN HIDDEN TESTS
def _check_train_step():
    class Lookup(torch.nn.Module):
        # logits depend only on the current token: a model whose exact update we can compute
        def __init__(self):
            super().__init__()
            self.table = torch.nn.Embedding(5, 5)
        def forward(self, tokens):
            return self.table(tokens)
    torch.manual_seed(0)
    tokens = torch.tensor([[0, 1, 2, 3, 4, 0], [4, 4, 3, 2, 1, 1]])
    theirs = Lookup()
    ours = Lookup()
    ours.load_state_dict(theirs.state_dict())
    opt_theirs = torch.optim.SGD(theirs.parameters(), lr=0.5)
    expected_losses = []
    for _ in range(2):
        logits = ours(tokens)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, 5), tokens[:, 1:].reshape(-1))
        grad, = torch.autograd.grad(loss, ours.table.weight)
        with torch.no_grad():
            ours.table.weight -= 0.5 * grad
        expected_losses.append(loss.item())
    got = [train_step(theirs, opt_theirs, tokens) for _ in range(2)]
    assert all(isinstance(x, float) for x in got), "train_step must return the loss as a Python float"
    assert abs(got[0] - expected_losses[0]) < 1e-5, \
        f"the returned loss should be the mean loss over every position before the step: expected {expected_losses[0]:.5f}, got {got[0]:.5f}"
    assert torch.allclose(theirs.table.weight, ours.table.weight, atol=1e-5), \
        "after two steps the weights differ from two plain SGD steps on the mean loss: is zero_grad called every step, and the mean taken over all positions?"
    assert abs(got[1] - expected_losses[1]) < 1e-5, "the second step's loss is off"
_check_train_step()
per_token_loss = _learner_per_token_loss
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_train_on_25_25", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 4 · Train on the 25+25 task
#
# Time to train. The toolkit's `train` runs the loop for you: it draws fresh batches, calls
# **your** `train_step` on each, and every 25 steps measures, on held-out sequences, the loss
# before and after the repeat and every head's attention scores. Two of those scores fill
# the tables below: a head's **previous-token score**, how much of its attention each position
# gives to the position just before it, and its **induction score**, how much each position
# gives to the position just after an earlier copy of its own token (where an induction head
# looks). Both run from 0 to 1; section 5 defines them properly. `SHORTCUT_RECIPE` is the
# classic set-up: 25+25 sequences only, AdamW, learning rate 0.01, batch 32, 800 steps.
#
# The model: 2 layers of 4 attention heads, `d_model` 64, no MLPs and no LayerNorm, about
# 45,000 parameters.
#
# **Attention in brief** (notebook 2 treats it in full). Each token enters as a vector of
# 64 numbers: its token embedding plus an embedding of its position (`W_E`, `W_pos`). That
# vector starts the **residual stream**. Every head reads the stream and *adds* its output
# to it, so the final stream is the sum of the embeddings and of every head's output, and
# the unembedding `W_U` turns it into logits. At each position $i$ one head does three things:
#
# 1. From the stream $x$ it computes a query $q = xW_Q$, a key $k = xW_K$ and a value
#    $v = xW_V$ (each plus a bias), 16 numbers each (`d_head`).
# 2. It scores its query against the key of every position $j \le i$ as
#    $q_i \cdot k_j / \sqrt{16}$ (the scale keeps the scores moderate; later positions are
#    masked out, the **causal mask**, so nothing peeks at the future), and a softmax over
#    $j$ turns the scores into weights that sum to 1. Row $i$ of the head's **attention
#    pattern** holds these weights: where position $i$ looks.
# 3. It adds the weighted sum of the values, mapped back to 64 numbers by $W_O$, to the
#    stream at position $i$.
#
# So *where* a head looks is set by its queries and keys (its **QK circuit**), and *what* it
# moves by its values and output (its **OV circuit**). A layer-0 head sees only the token
# and position embeddings; a layer-1 head also sees what the layer-0 heads added, which is
# how two heads in different layers can work as one circuit.

# %% nbgrader={"grade": false, "grade_id": "code_train_shortcut", "locked": true, "schema_version": 3, "solution": false, "task": false}
print(SHORTCUT_RECIPE)
shortcut_model = make_model(seed=0, device=device)
shortcut_log = train(shortcut_model, SHORTCUT_RECIPE, step_fn=train_step)
plot_training(shortcut_log, title="25+25 only");


# %% nbgrader={"grade": false, "grade_id": "code_print_history", "locked": true, "schema_version": 3, "solution": false, "task": false}
def print_history(log, steps):
    """The training log at ``steps`` (and at the last step): losses, and every head's scores."""
    row = lambda values: " ".join(f"{float(x):.2f}" for x in values)
    print(" step  before  after  20+20   induction L0H0-3 | L1H0-3      previous-token L0H0-3")
    for step in sorted({s for s in steps if s in log.steps} | {log.steps[-1]}):
        i = log.steps.index(step)
        induction, previous = log.scores["induction"][i], log.scores["previous"][i]
        print(f"{step:5} {log.first_half[i]:7.2f} {log.second_half[i]:6.2f} {log.other_period[i]:6.2f}   "
              f"{row(induction[0])} | {row(induction[1])}   {row(previous[0])}")

print_history(shortcut_log, [25, 100, 125, 150, 175, 200, 300, 400, 500, 600, 700])


# %% [markdown] nbgrader={"grade": false, "grade_id": "md_about_history", "locked": true, "schema_version": 3, "solution": false, "task": false}
# The table is the log behind the plot, at a few steps: the loss on held-out 25+25
# sequences before and after the repeat, the loss after the repeat on 20+20 sequences, each
# head's induction score (layer 0, then layer 1) and layer 0's previous-token scores.
#
# **You should see** the orange curve (after the repeat) fall from about 4.2 to below 0.05
# by step 175, while the blue curve (before the repeat) stays near ln 64 ≈ 4.16: a small
# bump to about 4.3 around step 100, then it settles at about 4.03. By the loss, the task is
# solved.
#
# In the right panel, the four layer-0 heads' induction scores (dashed) rise together to
# about 0.82 and lie on top of each other, so you see only one line. The layer-1 heads rise
# as well, to about 0.55 to 0.6 at step 125, then fade slowly: by step 600 three of them are
# below 0.1, and one keeps about 0.15 to the end. Layer 0 got there first; once it predicts
# the repeat almost perfectly, layer 1 has little left to add.
#
# Now look at the dashed green curve: the loss after the repeat on **20+20** sequences,
# measured as we went. It does not fall; it climbs far above ln 64, to about 10 or 11. The
# model copies perfectly when the period is 25 and worse than blind guessing when it is 20.
# An induction circuit would not care about the period. So what did this model learn?

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_shortcut", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 5 · Look inside: a positional shortcut
#
# Three scores per head, measured on 25+25 sequences (notebook 4 has you write these):
# - **previous-token**: how much each position attends to the position just before it;
# - **duplicate**: how much it attends to earlier copies of its own token;
# - **induction**: how much it attends to the position just *after* an earlier copy of its
#   own token, which is where an induction head looks.

# %% nbgrader={"grade": false, "grade_id": "code_shortcut_scores", "locked": true, "schema_version": 3, "solution": false, "task": false}
def print_scores(scores):
    """Each score of every head: layer 0 | layer 1."""
    for name, values in scores.items():
        print(f"{name:>9}: " + " ".join(f"{float(x):.2f}" for x in values[0]) + " | "
              + " ".join(f"{float(x):.2f}" for x in values[1]))

test_25 = make_repeated_batch(128, 25, 64, generator=torch.Generator().manual_seed(1)).to(device)
shortcut_scores = circuit_scores(shortcut_model, test_25)
plot_head_scores(shortcut_scores, title="25+25-only model, scored on 25+25");
print_scores(shortcut_scores)

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_shortcut_scores", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** all four layer-0 heads (left of the grey line) with induction scores of
# about 0.82, no previous-token head anywhere (all below 0.1), and layer 1 doing little
# (induction scores of 0.15 or less). A real induction head needs a previous-token head
# before it, so layer 0 cannot be doing induction. Draw one of its attention patterns and
# look at *where* it attends.
#
# (These scores find each query's targets from the tokens, as TransformerLens's head
# detector does, and count every query that has one: also the four or so queries per
# sequence, in the first half, whose token appeared earlier by chance, where these heads
# do not look. Notebook 4's scores count the repeat only: they give the layer-0 heads of the shipped
# shortcut model, trained as this one was from another seed, about 0.93.)

# %% nbgrader={"grade": false, "grade_id": "code_shortcut_patterns", "locked": true, "schema_version": 3, "solution": false, "task": false}
import matplotlib.pyplot as plt

patterns = attention_patterns(shortcut_model, test_25[:1])  # [layer, batch, head, query, key]
fig, axes = plt.subplots(1, 4, figsize=(16, 4))
for head, ax in enumerate(axes):
    ax.imshow(patterns[0, 0, head].cpu(), cmap="Blues", vmin=0, vmax=1)
    ax.set(title=f"L0H{head}", xlabel="key position", ylabel="query position")
fig.tight_layout()
back_24 = torch.diagonal(patterns[0, 0], offset=-24, dim1=-2, dim2=-1).mean(-1)  # queries 24 to 49
print("attention 24 positions back, queries 24 to 49: " + ", ".join(f"L0H{h} {float(x):.2f}" for h, x in enumerate(back_24)))
itself = torch.diagonal(patterns[0, 0], offset=0, dim1=-2, dim2=-1)[:, 1:24].mean(-1)  # queries 1 to 23
one_back = torch.diagonal(patterns[0, 0], offset=-1, dim1=-2, dim2=-1)[:, :23].mean(-1)  # queries 1 to 23
print("before the stripe, queries 1 to 23: attention to itself " + ", ".join(f"L0H{h} {float(x):.2f}" for h, x in enumerate(itself))
      + "; one back " + ", ".join(f"L0H{h} {float(x):.2f}" for h, x in enumerate(one_back)))


# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_shortcut_patterns", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** a sharp stripe starting at query 24, key 0: every query from position
# 24 on attends 24 positions back, whatever the tokens are (the printed line: about 0.94 of
# each head's attention). Position $p$'s next token is the token at
# $p + 1 - 25 = p - 24$, so attending there and copying that token (through the OV circuit)
# predicts perfectly, **as long as the period is exactly 25**. The rule uses positions only,
# never the tokens' content; the positional embeddings give it all the information it needs,
# and one layer is enough.
#
# Above the stripe, queries 1 to 23 have no position 24 back, and the heads spread their
# attention over the few keys there are (the pale triangle). Look closely at L0H1 and you
# see a faint stripe there too, on the diagonal itself, not one step below it: each query
# gives about half of its attention to its own position (the second printed line: about
# 0.46, the other heads 0.15 or less). It is not a previous-token stripe: one back, every
# head gives about 0.08 to 0.11, no more than attention spread evenly over the keys would
# (0.12), which is why the previous-token scores above are all below 0.1.
#
# This is the *positional shortcut*. The induction score cannot tell it from induction: on a
# 25+25 sequence, "the position after the earlier copy of my token" and "24 positions back"
# are the same position. The two rules only part ways on a sequence with another period:

# %% nbgrader={"grade": false, "grade_id": "code_shortcut_other_periods", "locked": true, "schema_version": 3, "solution": false, "task": false}
def loss_after_repeat(model, period, n=128):
    tokens = make_repeated_batch(n, period, 64, generator=torch.Generator().manual_seed(2)).to(device)
    with torch.no_grad():
        return float(half_losses(model(tokens), tokens, period)[1])

for period in (15, 20, 25):
    print(f"{period}+{period}: loss after the repeat {loss_after_repeat(shortcut_model, period):.2f}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_shortcut_other_periods", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** about 0.01 to 0.05 on 25+25 and more than 5 on 15+15 and 20+20: worse
# than guessing uniformly (4.16), because the model confidently copies whatever sits 24
# positions back.
#
# One more tell hides in the first plot. The blue curve settled at about 4.03, *below*
# ln 64. The positional rule also predicts the first token of the repeat (from position 24,
# "24 back" is position 0), which nothing in the sequence announces: it works only because
# the period is always 25.

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_about_written_single_layer", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### Written question 1 (graded by hand)
#
# Why can a single attention layer solve the task when the period is always 25, but not
# perform real induction? Say what the layer-1 head of an induction circuit needs to find,
# and why a layer-0 head cannot compute it.
# ### BEGIN MARK SCHEME
# **Marking guide (2 points, graders only).**
#
# *Model answer.* With a fixed period, the answer for position $p$ always sits at $p - 24$.
# Where to attend depends on positions only; the positional embeddings give that to the
# first layer's queries and keys directly, and the OV circuit copies the token found there
# (the shortcut's layer-0 heads attend 24 back). Real induction must find "the key whose
# *previous* token equals my current token". A key at position $k$ carries only its own
# token and position until some head has moved token $k - 1$ into it, which is what a
# layer-0 previous-token head does. A layer-0 head reads the raw embeddings, so its keys
# cannot describe the previous token: the match needs a second layer composing with the
# first (K-composition).
#
# *Rubric.*
# - 1 point: period 25 makes the target a fixed offset ($p - 24$), a rule on positions
#   alone, which the positional embeddings let one layer's QK compute, with its OV copying
#   the token.
# - 1 point: the layer-1 induction head must find the position whose previous token equals
#   the current token; a layer-0 key holds only its own token and position, so the previous
#   token must first be moved there by a layer-0 head (previous-token head, then
#   K-composition).
# - Wrong answers: "one layer lacks capacity/parameters", or "layer 0 cannot see earlier
#   tokens" (it can attend to any earlier position; its keys just lack the previous token).
#   Naming the earlier copy itself (duplicate token) as the target: half the second point.
# ### END MARK SCHEME

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_single_layer", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# See the model answer in the marking guide of the question above.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_change_the_data", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 6 · Change the data, get the circuit
#
# If the period is always 25, a rule about positions works, and the model finds it first.
# Take that option away by giving every sequence its own period: a random block of $P$
# tokens repeated to fill the 50 positions (a 7-token block repeats about 7 times). No fixed
# offset works for every sequence. The only rule that does is "find where my current token
# appeared before and copy what followed it", which is induction.
#
# `INDUCTION_RECIPE` does this in three parts, each there for a measured reason (the
# course repository's `benchmarks/bench_training.py` times it):
#
# 1. **Steps 1 to 250: periods 4 to 25.** Short periods put many repeats in every sequence, a
#    strong signal for copying, so the circuit forms sooner.
# 2. **From step 250: periods 8 to 25, each sequence drawn from only 8 to 48 distinct
#    tokens.** Now a token often appears twice inside one block, and copying what followed
#    the *wrong* copy costs loss. The model learns to check the token before as well. The
#    25+25 test needs this: in a random block of 25 tokens out of 64, about a third of the
#    positions ($1 - (63/64)^{24} \approx 0.31$) hold a token that occurs elsewhere in the
#    block too. In the repeat such a token has two earlier copies, followed by different
#    tokens, and without the check the loss after the repeat stalls near 0.3.
# 3. **From step 600 the learning rate falls linearly to 0** at step 1200, which settles the
#    weights and lowers both losses.
#
# With the same model, learning rate (0.01) and batch (32), periods 4 to 25 alone took
# 1,400 to 1,700 steps to reach a loss of 0.1 after the repeat; this recipe takes about
# 1,000. We train from seed 1, the seed of the model that ships with the course.

# %% nbgrader={"grade": false, "grade_id": "code_train_induction", "locked": true, "schema_version": 3, "solution": false, "task": false}
print(INDUCTION_RECIPE)
model = make_model(seed=1, device=device)
log = train(model, INDUCTION_RECIPE, seed=1, step_fn=train_step)
plot_training(log, title="varied periods");

# %% nbgrader={"grade": false, "grade_id": "code_induction_history", "locked": true, "schema_version": 3, "solution": false, "task": false}
print_history(log, [25, 75, 100, 125, 150, 175, 200, 250, 300, 400, 500, 600, 700, 750, 1000])
below = next((step for step, loss in zip(log.steps, log.second_half) if loss < 0.1), None)
print(f"loss after the repeat first below 0.1 at step {below}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_induction_history", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** a plateau first: for about 125 steps the loss after the repeat stays
# near 4, as if the model could not copy at all. Then, between steps 125 and 200, the
# layer-1 heads' induction scores (dashed, right panel) jump together from about 0.1 to 0.5,
# and the previous-token scores (solid) of layer-0 heads start climbing with them. The two
# kinds of head only help as a pair, so they form together: this sudden, simultaneous change
# is the **phase change** that Olsson et al. (2022) also saw in large language models. The
# loss after the repeat then comes down more gradually: below 1 by step 400 (about 0.8), and
# below 0.1 at about step 1,000. One layer-0 head (L0H1, from seed 1) becomes the
# previous-token head, near 0.95 by step 750; a second one (L0H2) takes on part of the job,
# up to about 0.4 by step 400, and then drops it. By the end the loss after the repeat is
# about 0.06 on 25+25 and 0.07 on 20+20. The loss before the repeat is a little above ln 64 from early on, peaks at the
# phase change (about 5) and stays above it, about 4.5 at the end: written question 2
# asks why.
#
# *Olsson et al. (2022), [In-context Learning and Induction Heads](https://transformer-circuits.pub/2022/in-context-learning-and-induction-heads/index.html),
# Transformer Circuits Thread.*

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_why_20_falls_first", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Why does the 20+20 curve fall first?** At step 300 the loss after the repeat is already
# about 0.45 on 20+20 but still about 1.7 on 25+25 (the table above), although the training
# data has periods 20 and 25 equally often. To see why, train the same model with the same
# recipe and seed for 300 steps only, which repeats the first 300 steps of the run above,
# and look at its previous-token head position by position:

# %% nbgrader={"grade": false, "grade_id": "code_train_to_step_300", "locked": true, "schema_version": 3, "solution": false, "task": false}
import dataclasses

early = make_model(seed=1, device=device)  # same seed, recipe and batches: the run above, stopped at step 300
early_log = train(early, dataclasses.replace(INDUCTION_RECIPE, steps=300), seed=1, step_fn=train_step,
                  progress=False, eval_every=300)  # only the model is used below

# %% nbgrader={"grade": false, "grade_id": "code_loss_by_position_300", "locked": true, "schema_version": 3, "solution": false, "task": false}
probe = make_repeated_batch(128, 25, 64, generator=torch.Generator().manual_seed(3)).to(device)
fig, ax = plt.subplots(figsize=(8, 3))
for name, trained in [("step 300", early), ("end", model)]:
    one_back = torch.diagonal(attention_patterns(trained, probe)[0], offset=-1, dim1=-2, dim2=-1).mean(0)
    head = int(one_back.mean(-1).argmax())  # the layer-0 head that looks one back the most
    reach = one_back[head].cpu()  # entry j: attention from position j + 1 to position j
    covered = int((reach < 0.5).nonzero()[0]) if (reach < 0.5).any() else len(reach)  # positions 1 .. covered
    ax.plot(range(1, 50), reach, marker=".", label=f"{name}: L0H{head}")
    print(f"{name}: L0H{head} looks one back with weight above 0.5 up to position {covered}; on average "
          f"{reach[:15].mean():.2f} at positions 1 to 15, {reach[19:25].mean():.2f} at 20 to 25, {reach[25:].mean():.2f} beyond")
ax.set(xlabel="position", ylabel="attention to the position before", ylim=(0, 1.05))
ax.legend();

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_loss_by_position_300", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** that at step 300 the previous-token head works only near the start of
# the sequence: it looks one back with weight about 1 up to position 19, and hardly at all
# from position 21 on. By the end it covers every position up to 48. (The last position, 49,
# has no next token, so its prediction is never scored and nothing in training shapes its
# attention.) That is what separates the two periods. On an $n+n$ repeat the induction head
# looks for the key whose previous token matches its own token, among the first copy's
# positions 1 to $n$, so it needs the previous-token head up to position $n$: 20 for 20+20,
# 25 for 25+25. At step 300 the last keys of a 25+25 repeat do not yet carry "the token
# before me", and the predictions that need them fail; on 20+20 nearly all are covered. The
# head extends its reach along the sequence as training goes on, and the 25+25 curve follows.

# %% nbgrader={"grade": false, "grade_id": "code_induction_scores", "locked": true, "schema_version": 3, "solution": false, "task": false}
scores = circuit_scores(model, test_25)
plot_head_scores(scores, title="varied-period model, scored on 25+25");
print_scores(scores)
for period in (15, 20, 25):
    print(f"{period}+{period}: loss after the repeat {loss_after_repeat(model, period):.2f}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_induction_scores", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** one layer-0 head with a previous-token score near 0.96 (with other seeds
# there are sometimes two, sharing the job), all four layer-1 heads with induction scores of
# about 0.75 to 0.82 (they work in parallel), and a low loss after the repeat for *every*
# period, about 0.05 to 0.2. This model generalises because it learned an algorithm, not an
# offset.
#
# ### Save your model
#
# The next cell saves it as `my_induction_model.pt` in the folder
# `~/.cache/induction_circuits/` (`~` is your home folder; the cell prints the full path).
# Notebooks 4 to 6 load it from there and say so; when they cannot find it, they fall back to
# the shipped model, trained the same way from the same seed, and say that instead. They also
# check, in a few milliseconds, that the model they find carries the circuit (a layer-0
# previous-token head and a layer-1 induction head on a few 20+20 repeats): one saved after
# training was cut short does not, and they warn you in one line and use the shipped model.
# To keep your model somewhere else, set the environment variable `INDUCTION_CIRCUITS_HOME` to a
# folder before you start Jupyter (for example `INDUCTION_CIRCUITS_HOME=~/my-models make lab`),
# or with `os.environ["INDUCTION_CIRCUITS_HOME"] = "<folder>"` at the top of this notebook
# and of notebooks 4 to 6: the model is then saved, and looked for, in that folder. On Colab
# the file lasts only as long as the runtime; a notebook opened later in a fresh runtime
# will not find it and uses the shipped model.

# %% nbgrader={"grade": false, "grade_id": "code_save_checkpoint", "locked": true, "schema_version": 3, "solution": false, "task": false}
path = save_checkpoint(model, own_checkpoint_path(), recipe=str(INDUCTION_RECIPE))
print(f"saved to {path}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_about_written_first_half", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### Written question 2 (graded by hand)
#
# Before the repeat, no model can beat a uniform guess on average: ln 64 ≈ 4.16 nats. Your
# varied-period model does *worse* than that guess, about 4.5 (the `before` column at the
# end of its training table), while the 25+25-only model stays at about 4.03. A loss above
# ln 64 means its predictions there are not uniform: it is betting on something, and mostly
# losing. What is it betting on, and why did the data it was trained on make that bet a good
# one?
#
# *Hint:* compare one fraction in two kinds of data. Count per prediction, not per sequence
# or per block: for each of a sequence's first 25 predictions (of tokens 1 to 25), ask whether
# the token to be predicted **already occurs among the tokens before it in the same
# sequence** (in an earlier block as well as its own), and take the share of "yes" over all
# those predictions of all the sequences. For random 25+25 sequences it is about one in five.
# In the training data? (Add a code cell and count the same 25 predictions:
# `periodic_tokens(1000, (8, 25), 50, alphabet=(8, 48))` draws sequences like those of the
# later part of the training.)
# ### BEGIN MARK SCHEME
# **Marking guide (2 points, graders only).**
#
# *Model answer.* It bets that the next token is one it has already seen in the sequence,
# the habit of copying. It moves probability onto tokens that occurred earlier, more and more
# along the sequence (just before the repeat, about two thirds of its probability sits on
# tokens already seen, where a uniform guess would put about a third), and where the current
# token occurred earlier by chance it predicts what followed that earlier copy. In the first
# half of a random 25+25 sequence the next token has appeared before in only about one
# prediction in five, so the probability moved onto seen tokens is mostly wasted, the fresh
# token that does come gets less than 1/64, and the loss rises above ln 64. In its training
# data the bet pays: periods of at most 25 start the repeat early, and from step 250 each
# block draws on only 8 to 48 distinct tokens, so about 55% of the first 25 predictions are
# of a token already in the sequence (over 75% of all 49). Training minimises the loss on
# that data, not on the first half of 25+25.
#
# *Rubric.*
# - 1 point: the bet, stated as what the predictions do: extra probability on tokens already
#   in the context (or copying after earlier occurrences), which takes probability from the
#   unseen tokens that usually come next in a uniform random block, hence more than ln 64.
# - 1 point: why training favoured it: in the varied-period training data the next token has
#   usually appeared before (short periods, small alphabets: about half or more of the early
#   predictions, against about one in five in the first half of 25+25).
# - Half of the first point: only "it copies after chance duplicates" (true, but that is
#   about a third of the excess). Wrong answers: "it learned which tokens are frequent" (the
#   tokens are uniform), "noise/overfitting" without a mechanism, or an explanation of the
#   4.03 (the notebook gives that one).
# ### END MARK SCHEME

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_first_half", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# See the model answer in the marking guide of the question above.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_about_written_catch_shortcut", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### Written question 3 (graded by hand)
#
# Suppose you had only the trained 25+25 model and could not look at its weights or
# attention patterns. How would you have caught the shortcut? Describe an experiment and
# the result that would give it away.
# ### BEGIN MARK SCHEME
# **Marking guide (2 points, graders only).**
#
# *Model answer.* Test the model on inputs where the shortcut and the intended rule
# disagree: repeats with another period (15+15, 20+20), or the 25-token block repeated after
# a random-length prefix of unrelated tokens. An induction model keeps a low loss after the
# repeat; the shortcut model's loss stays near or above $\ln 64 \approx 4.16$ (more than 5
# in the notebook), because it copies whatever sits 24 positions back. Checking behaviour on
# held-out variations of the task is the test.
#
# *Rubric.*
# - 1 point: an experiment whose inputs pull "copy from 24 back" apart from induction: a
#   different period, or the repeat moved to another offset. More 25+25 test sequences do
#   not count: the shortcut passes them.
# - 1 point: the result that gives it away, stated as a prediction: the loss after the
#   repeat stays high (near or above $\ln 64$) instead of near 0, because the model copies
#   by position.
# - Also full credit: the per-position loss on 25+25 shows the first token of the repeat
#   predicted almost perfectly (first-half loss 4.03 < $\ln 64$), which no token-based rule
#   can do. Answers that inspect weights or attention ignore the constraint: 0.
# ### END MARK SCHEME

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_catch_shortcut", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# See the model answer in the marking guide of the question above.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_recap", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Recap
#
# - On the 25+25 task the loss before the repeat cannot fall below ln 64, and the loss
#   after it can fall to 0. The gap measures in-context copying.
# - Trained only on 25+25, the model solves the task with a positional rule in layer 0
#   ("copy from 24 back"). Its loss and its induction score on 25+25 look like induction.
# - Varying the period removes the shortcut, and the genuine two-layer circuit forms in a
#   sudden phase change: a previous-token head in layer 0 and an induction head in layer 1.
#   The previous-token head then extends its reach along the sequence, and longer repeats
#   wait for it.
# - What a model learns depends on its data, and a score measured on the training
#   distribution is evidence, not proof. Test where the candidate explanations disagree.
#
# Next, in notebook 4, you write the head scores yourself and use them to find the circuit's
# heads in your model and in GPT-2.
#
# ### Recap questions (auto-graded)
#
# Set each variable to your answer.
# 1. `recap_chance_loss`: the expected loss, in nats, of the best possible prediction of a
#    token drawn uniformly from 64 (a float, 3 decimals are enough).
# 2. `recap_shortcut_offset`: in the 25+25-only model, a layer-0 head at query position $p$
#    attends to key position $p - k$. What is $k$?
# 3. `recap_min_layers`: the smallest number of attention layers that can implement a genuine
#    induction circuit.

# %% nbgrader={"grade": false, "grade_id": "recap_answers", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
recap_chance_loss = math.log(64)
recap_shortcut_offset = 24
recap_min_layers = 2
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_recap", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
assert all(isinstance(x, (int, float)) for x in (recap_chance_loss, recap_shortcut_offset, recap_min_layers)), \
    "each recap answer should be a number"
assert float(recap_shortcut_offset).is_integer() and float(recap_min_layers).is_integer(), \
    "recap_shortcut_offset and recap_min_layers should be whole numbers"
print("recap answers have the right types (the grader checks their values)")
### BEGIN HIDDEN TESTS
assert abs(recap_chance_loss - math.log(64)) < 0.01, "recap 1: the loss of a uniform guess over 64 tokens"
assert recap_shortcut_offset == 24, "recap 2: look at the stripe in the layer-0 heatmaps"
assert recap_min_layers == 2, "recap 3: the previous-token head must write before the induction head reads"
### END HIDDEN TESTS
