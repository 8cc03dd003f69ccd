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
# # 6 · Proving it: ablation
#
# Everything so far has been observation: where heads look (notebooks 4 and 5), what their
# weights could do (notebook 2). Observation cannot show that the model *uses* what a head
# does. Notebook 4 even showed a model whose heads look in exactly the right place for the
# wrong reason. This notebook intervenes: it switches heads off during the forward pass
# and measures what breaks. If the induction circuit is real, removing its parts must
# destroy in-context copying, and removing the previous-token head must blind the
# induction heads. That is the causal evidence.
#
# **Time:** about 95 minutes for a learner new to transformer internals who has worked
# notebooks 3 to 5; about 2 hours 20 minutes if you start here (the two boxes below give you what you need).
# **Runs in:** under a minute on a laptop CPU.
#
# **By the end you will**
# - write hooks that zero-ablate and mean-ablate one head's output;
# - measure how much each head matters for the loss after the repeat, and see the loss
#   return to chance when the circuit is removed while the loss before the repeat does not
#   rise (and find out why it falls);
# - show K-composition causally: without the previous-token head, the induction heads no
#   longer know where to look; and test what the head that looks two back adds;
# - write an induction-head verifier, and catch where it can still be fooled;
# - put your model and the positional-shortcut model side by side under the same knife.
#
# **Exercises:** five to code (★ short, ★★ needs some thought), two written answers (graded
# by your instructor), three recap questions.

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_before_start", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Before you start.** The first code cell, just below the Colab badge, installs the course toolkit,
# `induction_circuits`, if it is missing: on Colab run it first, and it takes about a minute
# (it keeps Colab's own torch); on your own machine `make lab` (see the README) has installed
# it already, and the cell does nothing. Then run the next cell: it imports what this notebook uses, prints
# one line that says whether you have a GPU (nothing here needs one), loads the two models and
# makes the batch of sequences every section uses.
# This course runs on TransformerLens 4 and its `TransformerBridge`: tutorials written for the
# older `HookedTransformer` need the 4.x names to run (notebook 1 says which).

# %% nbgrader={"grade": false, "grade_id": "code_setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import math
from functools import partial

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from induction_circuits.data import periodic_tokens, token_labels
from induction_circuits.model import SHIPPED_CHECKPOINTS, load_checkpoint, load_trained_model
from induction_circuits.setup import start

torch.set_grad_enabled(False)
device = start()
model = load_trained_model(device)  # yours from notebook 3, or the shipped one
shortcut_model = load_checkpoint(SHIPPED_CHECKPOINTS["shortcut"], device)
tokens = periodic_tokens(64, 25, 50, generator=torch.Generator().manual_seed(0), device=device)


def per_token_loss(logits, tokens):
    # notebook 3's exercise: entry [b, i] is the loss of predicting tokens[b, i + 1]
    return F.cross_entropy(logits[:, :-1].transpose(1, 2), tokens[:, 1:], reduction="none")


# %% [markdown] nbgrader={"grade": false, "grade_id": "md_prerequisites", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### What you need from earlier notebooks
#
# - **The task** (notebook 3). A 25+25 sequence is 25 random tokens, drawn from a vocabulary
#   of 64, followed by the same 25 again: 50 positions. `tokens`, made in the cell above, is
#   a batch of 64 of them, `periodic_tokens(64, 25, 50)`; `token_labels` gives each token a
#   two-letter name.
# - **Before and after the repeat** (notebook 3, exercises 2 and 3). `per_token_loss(logits,
#   tokens)`, defined above as you wrote it in notebook 3, is `[batch, 49]`: entry `i` is the
#   loss of predicting token `i + 1` from the logits at position `i`. Losses are in *nats*
#   (cross-entropy taken with natural logarithms): guessing uniformly among 64 tokens costs
#   $\ln 64 \approx 4.16$ nats. Entries 0 to 24 predict tokens 1 to 25: the rest of the
#   random first half, then token 25, the repeat's first token, which nothing announces.
#   Entries 25 onwards predict copies of earlier tokens. So *the loss after the repeat* is
#   the mean of entries `half_len` onwards (`half_len` = 25), and *the loss before the
#   repeat* the mean of the entries before.
# - **The models** (notebooks 1 and 3). Two layers of four attention heads, named
#   `L{layer}H{head}`, with no MLPs and no LayerNorm; `d_model` 64, `d_head` 16, 50
#   positions. `model` is yours from notebook 3, or the shipped one, trained the same way: on
#   repeats whose period varies, which makes it learn induction. `shortcut_model` was trained
#   on 25+25 only and learned a shortcut instead: its four layer-0 heads attend 24 positions
#   back and copy the token there, which is right whenever the period is 25 and wrong for any
#   other (notebook 3, section 5).
# - **The circuit** (notebooks 2 to 5; head numbers as in the shipped model, or yours from
#   seed 1). In `model`, L0H1 is a *previous-token head*: each position attends to the one
#   before and writes that token into its own stream. The four layer-1 heads are *induction
#   heads*: at the second copy of a token they attend to the position just after its first
#   copy, `half_len - 1` back on a repeat, and copy the token there, which is the next token.
#   They find that position because L0H1 has written "my previous token was X" into it, and
#   the induction heads' keys read that: *K-composition* (notebook 2).
# - **The induction score** (notebook 4). A head's mean attention from the last `half_len`
#   queries (those of the repeat) to the key `half_len - 1` back: 1 for a perfect induction
#   head. On 25+25 the shortcut's layer-0 heads score as high as real induction heads; on
#   20+20 they collapse.
#
# One sequence, and the two losses over the batch (your model pays a little more than
# $\ln 64$ before the repeat; section 2 finds out why):

# %% nbgrader={"grade": false, "grade_id": "code_example_losses", "locked": true, "schema_version": 3, "solution": false, "task": false}
print(" ".join(token_labels(tokens[0])))  # one of the 64 sequences: 25 random labels, then the same 25 again
example_losses = per_token_loss(model(tokens), tokens)  # [64, 49]
print(f"loss before the repeat (entries 0-24): {example_losses[:, :25].mean():.2f} | after it (entries 25-48): "
      f"{example_losses[:, 25:].mean():.2f} | guessing uniformly: ln 64 = {math.log(64):.2f}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_primer", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### One attention head, in brief
#
# This notebook cuts into the middle of attention heads, so here is what happens inside one
# (notebooks 1 and 2 go further).
#
# - **The residual stream.** At each position the model keeps a vector of `d_model` = 64
#   numbers. It starts as the token's embedding plus the position's,
#   $x = W_E[t] + W_{pos}[p]$; each layer reads it and adds its output,
#   $x \leftarrow x + \mathrm{attn}_\ell(x)$; the logits are $x W_U + b_U$. Nothing is
#   overwritten: the final stream is the embeddings plus everything every head wrote.
# - **One head** of a layer (vectors are rows and weights multiply on the right;
#   `model.W_Q[layer, head]` is `[d_model, d_head]`). At every position it computes a query
#   $q = x W_Q + b_Q$, a key $k = x W_K + b_K$ and a value $v = x W_V + b_V$, each `d_head` =
#   16 numbers. Key position $j$ scores $q_i \cdot k_j / \sqrt{d_{head}}$ for query position
#   $i$ (the scale keeps the scores from growing with `d_head`). Keys after the query get
#   $-\infty$ (the *causal mask*: no position sees the future), and a softmax over keys turns
#   each query's scores into its **attention pattern** $A_{ij}$, which sums to 1 over
#   $j \le i$. The head's output at $i$ is $z_i = \sum_j A_{ij} v_j$ (`d_head` numbers), and
#   it writes $z_i W_O$ (`d_model` numbers) into the stream. The layer adds up its four
#   heads' writes and a bias $b_O$.
# - **Hook points** are where TransformerLens lets you read or change these values during a
#   forward pass. This notebook uses two per head: `blocks.{layer}.attn.hook_pattern`, the patterns
#   `[batch, head, query, key]` (after `run_with_cache`, `cache["pattern", layer]` is the
#   same tensor), and `blocks.{layer}.attn.hook_z`, the $z$'s, `[batch, pos, head, d_head]`.
#
# So $W_Q$ and $W_K$ decide where a head looks, and $W_V$ and $W_O$ what it moves (notebook 2
# reads them). Check that a layer's output (its own hook point, `blocks.{layer}.hook_attn_out`,
# the whole attention output) is the sum of its heads' writes (`torch.einsum` multiplies and
# sums over the letters its pattern names):

# %% nbgrader={"grade": false, "grade_id": "code_one_head_by_hand", "locked": true, "schema_version": 3, "solution": false, "task": false}
_, cache = model.run_with_cache(tokens[:2])
z = cache["blocks.0.attn.hook_z"]  # [batch, pos, head, d_head]
written = torch.einsum("bphd,hdm->bpm", z, model.W_O[0]) + model.b_O[0]  # the heads' z W_O, summed, plus b_O
print("z:", tuple(z.shape), "| pattern:", tuple(cache["pattern", 0].shape),
      "| layer 0's output = its heads' z W_O + b_O:", torch.allclose(written, cache["blocks.0.hook_attn_out"], atol=1e-5))


# %% [markdown] nbgrader={"grade": false, "grade_id": "md_where_to_cut", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1 · Where to cut: `hook_z`
#
# Head $h$'s slice of `hook_z`, `z[:, :, h]`, is everything that head writes, before $W_O$
# maps it into the stream. A hook is a function `hook_fn(activation, hook)` that
# TransformerLens calls with the activation at its hook point during the forward pass;
# whatever it returns replaces the activation (if it returns nothing, the activation is left
# as it was). Changing one head's slice of $z$ removes that head's contribution and nothing
# else, and in this model (no LayerNorm) the change flows straight into the residual stream
# and everything after it.
#
# Two ways to "remove" a head, both approximations of "the model without this head":
# - **zero ablation** sets its $z$ to 0: the head writes nothing (the layer's bias $b_O$
#   stays);
# - **mean ablation** replaces its $z$ at each position by the average over the batch: the
#   head writes what it writes *on average*, so only the part of its output that depends on
#   this particular input is removed. That average is estimated from the batch you run, 64
#   sequences here.
#
# Section 6 compares the two.
#
# ### Exercise 1 ★ · `zero_ablate_head`
#
# Write `zero_ablate_head(z, hook, head)`: set head `head`'s slice of `z` to zero (every batch
# row, every position) and return `z`. (`hook` is the hook point; you do not need it, but
# TransformerLens passes it.)

# %% nbgrader={"grade": false, "grade_id": "zero_ablate_head", "locked": false, "schema_version": 3, "solution": true, "task": false}
def zero_ablate_head(z, hook, head):
    ### BEGIN SOLUTION
    z[:, :, head] = 0.0
    return z
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_zero_ablate_head", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
_z = torch.randn(2, 3, 4, 5, generator=torch.Generator().manual_seed(0))
_out = zero_ablate_head(_z.clone(), None, 2)
assert tuple(_out.shape) == (2, 3, 4, 5), "return z with its shape unchanged"
assert torch.all(_out[:, :, 2] == 0), "head 2's slice must be zero"
assert torch.equal(_out[:, :, [0, 1, 3]], _z[:, :, [0, 1, 3]]), "the other heads must be left alone"
print("zero_ablate_head passed the visible test")
### BEGIN HIDDEN TESTS
def _check_zero_ablate_head():
    g = torch.Generator().manual_seed(1)
    for shape, head in [((1, 1, 1, 1), 0), ((3, 7, 12, 64), 11), ((4, 50, 4, 16), 0)]:
        z = torch.randn(*shape, generator=g).to(device)
        out = zero_ablate_head(z.clone(), None, head)
        assert out is not None and tuple(out.shape) == shape, "return z, same shape"
        others = [h for h in range(shape[2]) if h != head]
        assert torch.all(out[:, :, head] == 0), f"head {head}'s slice must be all zeros"
        assert torch.equal(out[:, :, others], z[:, :, others]), "only the chosen head may change"
_check_zero_ablate_head()
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_about_mean_ablate_head", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### Exercise 2 ★ · `mean_ablate_head`
#
# Write `mean_ablate_head(z, hook, head)`: replace head `head`'s slice of `z` by its mean over
# the **batch** dimension, separately at each position (every row then holds the same
# `[pos, d_head]` values), and return `z`.
#
# *Hint:* `.mean(0, keepdim=True)` keeps a batch dimension of size 1, which broadcasts back.

# %% nbgrader={"grade": false, "grade_id": "mean_ablate_head", "locked": false, "schema_version": 3, "solution": true, "task": false}
def mean_ablate_head(z, hook, head):
    ### BEGIN SOLUTION
    z[:, :, head] = z[:, :, head].mean(0, keepdim=True)
    return z
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_mean_ablate_head", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
_z = torch.randn(3, 2, 4, 5, generator=torch.Generator().manual_seed(0))
_out = mean_ablate_head(_z.clone(), None, 1)
assert torch.allclose(_out[0, :, 1], _z[:, :, 1].mean(0)), "each position gets the batch mean of that position"
assert torch.allclose(_out[2, :, 1], _out[0, :, 1]), "every batch row should now hold the same values"
assert torch.equal(_out[:, :, [0, 2, 3]], _z[:, :, [0, 2, 3]]), "the other heads must be left alone"
print("mean_ablate_head passed the visible test")
### BEGIN HIDDEN TESTS
def _check_mean_ablate_head():
    g = torch.Generator().manual_seed(2)
    for shape, head in [((1, 4, 2, 3), 1), ((5, 7, 12, 8), 6), ((8, 50, 4, 16), 3)]:
        z = torch.randn(*shape, generator=g).to(device)
        out = mean_ablate_head(z.clone(), None, head)
        assert out is not None and tuple(out.shape) == shape, "return z, same shape"
        expected = z[:, :, head].mean(0, keepdim=True).expand(shape[0], -1, -1)
        assert torch.allclose(out[:, :, head], expected, atol=1e-6), \
            "the head's slice must be its mean over the batch, position by position (not over positions)"
        others = [h for h in range(shape[2]) if h != head]
        assert torch.equal(out[:, :, others], z[:, :, others]), "only the chosen head may change"
_check_mean_ablate_head()
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_one_head_removed", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2 · The loss after the repeat, with one head removed
#
# ### Exercise 3 ★★ · `ablated_second_half_loss`
#
# Write `ablated_second_half_loss(model, tokens, layer, head, method="zero")`. `tokens` is a
# batch of repeated sequences `[batch, 2 * half_len]`. Run the model with head `head` of layer
# `layer` ablated (`method` is `"zero"` or `"mean"`; raise `ValueError` for anything else),
# and return, as a Python float, the mean of `per_token_loss` over the second half: entries
# `half_len` onwards, with `half_len = tokens.shape[1] // 2` (the split the box at the top
# explains).
#
# *Hints:* `model.run_with_hooks(tokens, fwd_hooks=[(name, hook_fn)])` runs one forward pass
# with your hook in place and removes it afterwards. The hook point's name is
# `f"blocks.{layer}.attn.hook_z"`. `functools.partial(zero_ablate_head, head=head)` turns
# your three-argument function into the two-argument hook TransformerLens expects.

# %% nbgrader={"grade": false, "grade_id": "ablated_second_half_loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
def ablated_second_half_loss(model, tokens, layer, head, method="zero"):
    ### BEGIN SOLUTION
    ablations = {"zero": zero_ablate_head, "mean": mean_ablate_head}
    if method not in ablations:
        raise ValueError(f"method must be 'zero' or 'mean', got {method!r}")
    hook = (f"blocks.{layer}.attn.hook_z", partial(ablations[method], head=head))
    logits = model.run_with_hooks(tokens, fwd_hooks=[hook])
    return per_token_loss(logits, tokens)[:, tokens.shape[1] // 2:].mean().item()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_ablated_second_half_loss", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
_learner_ablations = {name: globals().get(name) for name in ("zero_ablate_head", "mean_ablate_head")}
def _reference_zero_ablate(z, hook, head):
    z[:, :, head] = 0.0
    return z
def _reference_mean_ablate(z, hook, head):
    z[:, :, head] = z[:, :, head].mean(0, keepdim=True)
    return z
def _reference_ablated_loss(m, toks, layer, head, method):
    fn = {"zero": _reference_zero_ablate, "mean": _reference_mean_ablate}[method]
    logits = m.run_with_hooks(toks, fwd_hooks=[(f"blocks.{layer}.attn.hook_z", partial(fn, head=head))])
    return per_token_loss(logits, toks)[:, toks.shape[1] // 2:].mean().item()
zero_ablate_head, mean_ablate_head = _reference_zero_ablate, _reference_mean_ablate
### END HIDDEN TESTS
clean_loss = per_token_loss(model(tokens), tokens)[:, 25:].mean().item()
prev_ablated = ablated_second_half_loss(model, tokens, 0, 1)
print(f"loss after the repeat: clean {clean_loss:.2f}, with L0H1 zero-ablated {prev_ablated:.2f}")
assert isinstance(prev_ablated, float), "return a Python float"
try:
    ablated_second_half_loss(model, tokens, 0, 1, "resample")
except ValueError:
    pass
else:
    raise AssertionError("an unknown method should raise ValueError")
assert abs(ablated_second_half_loss(model, tokens, 1, 0, "zero") - ablated_second_half_loss(model, tokens, 1, 0, "mean")) < 1.0, \
    "zero and mean ablation of L1H0 should give losses within 1 nat of each other: check the 'mean' branch (the batch mean, axis 0)"
assert abs(per_token_loss(model(tokens), tokens)[:, 25:].mean().item() - clean_loss) < 1e-6, \
    "the model must be unchanged afterwards: use run_with_hooks, which removes the hook when it is done"
print("ablated_second_half_loss passed the visible test")
### BEGIN HIDDEN TESTS
def _check_ablated_second_half_loss():
    from induction_circuits.model import make_model
    shipped = load_checkpoint(SHIPPED_CHECKPOINTS["induction"], device)
    other = make_model(seed=4, device=device, n_layers=3, n_heads=2)
    for m, half in [(shipped, 20), (other, 9)]:
        toks = periodic_tokens(16, half, 2 * half, generator=torch.Generator().manual_seed(half), device=device)
        for layer, head, method in [(0, 1, "zero"), (m.cfg.n_layers - 1, 0, "mean"), (1, 1, "zero"), (0, 0, "mean")]:
            got = ablated_second_half_loss(m, toks, layer, head, method)
            expected = _reference_ablated_loss(m, toks, layer, head, method)
            assert isinstance(got, float), "return a Python float"
            assert abs(got - expected) < 1e-4, \
                f"L{layer}H{head}, {method} ablation, half_len {half}: expected {expected:.4f}, got {got:.4f}"
    try:
        ablated_second_half_loss(shipped, periodic_tokens(2, 5, 10, device=device), 0, 0, "random")
    except ValueError:
        pass
    else:
        raise AssertionError("an unknown method must raise ValueError")
_check_ablated_second_half_loss()
globals().update({name: f for name, f in _learner_ablations.items() if f is not None})
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_test_ablated_second_half_loss", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** (shipped model, or yours from seed 1) a clean loss after the repeat of
# about 0.06, and about 4.05 with L0H1 removed: one head of eight, and the model can no
# longer copy. A uniform guess would cost $\ln 64 = 4.16$.
#
# ### Exercise 4 ★★ · `ablation_table`
#
# Write `ablation_table(model, tokens, half_len, method="zero")`: a tensor `[n_layers, n_heads]`
# whose entry `[l, h]` is how much the loss after the repeat **increases** when head `(l, h)`
# is ablated: `ablated_second_half_loss(...)` minus the clean loss (the same mean over
# entries `half_len` onwards, without any hook). `tokens` is `[batch, 2 * half_len]`, as
# before, so `half_len` here and `tokens.shape[1] // 2` there are the same split. Return a
# torch tensor.

# %% nbgrader={"grade": false, "grade_id": "ablation_table", "locked": false, "schema_version": 3, "solution": true, "task": false}
def ablation_table(model, tokens, half_len, method="zero"):
    ### BEGIN SOLUTION
    clean = per_token_loss(model(tokens), tokens)[:, half_len:].mean().item()
    return torch.tensor([[ablated_second_half_loss(model, tokens, layer, head, method) - clean
                          for head in range(model.cfg.n_heads)]
                         for layer in range(model.cfg.n_layers)])
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_ablation_table", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
_learner_loss = globals().get("ablated_second_half_loss")
def ablated_second_half_loss(model, tokens, layer, head, method="zero"):
    # self-contained: graded student code may call it where hidden helpers are out of reach
    def ablate(z, hook):
        z[:, :, head] = 0.0 if method == "zero" else z[:, :, head].mean(0, keepdim=True)
        return z
    logits = model.run_with_hooks(tokens, fwd_hooks=[(f"blocks.{layer}.attn.hook_z", ablate)])
    return per_token_loss(logits, tokens)[:, tokens.shape[1] // 2:].mean().item()
### END HIDDEN TESTS
table = ablation_table(model, tokens, 25)
assert tuple(table.shape) == (2, 4), f"expected [n_layers, n_heads] = (2, 4), got {tuple(table.shape)}"
assert table[0].max() > 3.0, "removing the previous-token head should raise the loss after the repeat by about 4"
print("ablation_table passed the visible test")
### BEGIN HIDDEN TESTS
def _check_ablation_table():
    from induction_circuits.model import make_model
    other = make_model(seed=6, device=device, n_layers=3, n_heads=2)
    toks = periodic_tokens(8, 7, 14, generator=torch.Generator().manual_seed(3), device=device)
    clean = per_token_loss(other(toks), toks)[:, 7:].mean().item()
    for method in ("zero", "mean"):
        got = ablation_table(other, toks, 7, method)
        assert isinstance(got, torch.Tensor), f"return a torch tensor, got {type(got).__name__}"
        got = got.float().cpu()
        expected = torch.tensor([[_reference_ablated_loss(other, toks, l, h, method) - clean for h in range(2)] for l in range(3)])
        assert tuple(got.shape) == (3, 2), f"a 3-layer, 2-head model needs a (3, 2) table, got {tuple(got.shape)}"
        assert torch.allclose(got, expected, atol=1e-4), \
            f"{method} ablation: each entry is the ablated loss after the repeat minus the clean one"
_check_ablation_table()
ablated_second_half_loss = _learner_loss
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "code_ablation_tables", "locked": true, "schema_version": 3, "solution": false, "task": false}
def show_table(values, title, ax):
    ax.imshow(values, cmap="Reds", vmin=0, vmax=math.log(64))
    for layer in range(values.shape[0]):
        for head in range(values.shape[1]):
            value = round(float(values[layer, head]), 2) + 0.0  # + 0.0 turns -0.0 into 0.0
            ax.text(head, layer, f"{value:+.2f}", ha="center", va="center", fontsize=9,
                    color="white" if value > math.log(64) / 2 else "black")  # light text on dark cells
    ax.set(title=title, xlabel="head", ylabel="layer", xticks=range(values.shape[1]), yticks=range(values.shape[0]))

def print_table(values, title):
    print(title)
    for layer, row in enumerate(values.tolist()):
        print(f"  layer {layer}: " + "  ".join(f"L{layer}H{head} {round(value, 2) + 0.0:+.2f}" for head, value in enumerate(row)))

zero_table = ablation_table(model, tokens, 25, "zero")
mean_table = ablation_table(model, tokens, 25, "mean")
fig, axes = plt.subplots(1, 2, figsize=(10, 3))
show_table(zero_table, "zero ablation: increase in loss after the repeat", axes[0])
show_table(mean_table, "mean ablation", axes[1])
fig.tight_layout()
print_table(zero_table, "zero ablation, increase in the loss after the repeat:")
print_table(mean_table, "mean ablation:")


# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_ablation_tables", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** one dark cell: L0H1, about +4.0 with zero ablation (the table shows
# *increases*: the 4.05 above minus the clean 0.06). L0H0, the head that looks two back,
# costs about +0.6. L0H2 and L0H3 cost nothing here, after the repeat; further down, this section finds
# where they do matter. Each layer-1 head costs only about +0.2, although notebook 4 found four
# strong induction heads there. Why so little? Remove all four together:

# %% nbgrader={"grade": false, "grade_id": "code_losses_with", "locked": true, "schema_version": 3, "solution": false, "task": false}
def losses_with(m, hooks, toks=tokens, half_len=25):
    # (loss before the repeat, loss after it) with the given hooks in place
    losses = per_token_loss(m.run_with_hooks(toks, fwd_hooks=hooks), toks)
    return losses[:, :half_len].mean().item(), losses[:, half_len:].mean().item()

all_layer_1 = [("blocks.1.attn.hook_z", partial(zero_ablate_head, head=h)) for h in range(4)]
print("clean:                          before %.2f, after %.2f" % losses_with(model, []))
print("all four layer-1 heads removed: before %.2f, after %.2f" % losses_with(model, all_layer_1))
print(f"ln 64 = {math.log(64):.2f}")


# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_losses_with", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** the loss after the repeat jump from about 0.06 to about 4.2, chance
# level. So the four layer-1 heads are **redundant**: each carries a copy of the answer, the
# others make up for a missing one, and only removing all of them shows the job they do. A
# table of one-at-a-time ablations underrates redundant heads; keep that in mind when you
# read one. (Written question 1 asks what to expect of the same experiment on GPT-2 small.)
#
# The loss *before* the repeat does not rise: it falls, from about 4.5 to about 4.2. A loss
# of 4.5 is worse than a uniform guess (4.16), so before the repeat the intact model is
# confidently wrong. A guess: induction heads copy from the context wherever they find
# something to copy, and in a random first half what they copy is usually wrong. Measure the
# bet: the probability the model gives, before the repeat, to tokens that have already
# appeared, against how often the next token really is one of them. And see what L0H2 and
# L0H3, which cost nothing after the repeat, do here:

# %% nbgrader={"grade": false, "grade_id": "code_bet", "locked": true, "schema_version": 3, "solution": false, "task": false}
def context_bet(m, hooks, toks=tokens, half_len=25):
    # At positions 0 .. half_len - 2, which predict random tokens: the probability on tokens
    # already seen, and how often the next token really is one of them.
    probs = m.run_with_hooks(toks, fwd_hooks=hooks).softmax(-1)[:, :half_len - 1]  # [batch, pos, d_vocab]
    seen = torch.zeros_like(probs, dtype=torch.bool)
    for position in range(half_len - 1):
        seen[:, position].scatter_(-1, toks[:, :position + 1], True)
    truly = seen.gather(-1, toks[:, 1:half_len, None]).float().mean().item()
    return (probs * seen).sum(-1).mean().item(), truly

def remove(layer, heads):
    # zero-ablation hooks for the given heads of one layer
    return [(f"blocks.{layer}.attn.hook_z", partial(zero_ablate_head, head=h)) for h in heads]

for name, hooks in [("clean", []), ("all four layer-1 heads removed", all_layer_1),
                    ("L0H2 removed", remove(0, [2])), ("L0H3 removed", remove(0, [3]))]:
    bet, truly = context_bet(model, hooks)
    before, after = losses_with(model, hooks)
    print(f"{name:30}: probability on tokens already seen {bet:.2f} (right {truly:.2f} of the time) | "
          f"loss before the repeat {before:.2f}, after {after:.2f}")


# %% [markdown] nbgrader={"grade": false, "grade_id": "md_bet", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** the intact model give the tokens it has already seen about a third of
# its probability (0.33), when the next token is one of them only about 0.18 of the time:
# the bet that pays after the repeat costs before it. Remove the layer-1 heads and the bet
# falls to about 0.17, close to the truth, and the loss before the repeat falls with it.
# L0H2 and L0H3 pull the other way: without L0H3 the bet rises to about 0.44 and the loss
# before the repeat by about 0.4, without L0H2 both rise a little, and the loss after the
# repeat does not move. Both heads choose their keys by token (notebook 5, section 3);
# whatever layer 1 reads from them makes it copy less where there is no real match. How,
# this course leaves open.
#
# ## 3 · K-composition, shown causally
#
# Notebook 2 found in the weights that the induction heads build their keys from L0H1's
# output. If that is how they find their target, then removing L0H1 should leave them
# looking in the wrong place. Capture layer 1's attention with a second hook, on
# `hook_pattern`, while L0H1 is ablated, and score it:

# %% nbgrader={"grade": false, "grade_id": "code_layer_1_stripe", "locked": true, "schema_version": 3, "solution": false, "task": false}
def layer_1_stripe(m, hooks, toks=tokens, half_len=25):
    # Layer 1's attention from each query of the repeat to the key half_len - 1 back, with
    # `hooks` in place: [batch, head, query]. Its mean over batch and queries is each head's induction score.
    captured = {}
    def keep_pattern(pattern, hook):
        captured["pattern"] = pattern.clone()
    m.run_with_hooks(toks, fwd_hooks=hooks + [("blocks.1.attn.hook_pattern", keep_pattern)])
    return torch.diagonal(captured["pattern"], offset=-(half_len - 1), dim1=-2, dim2=-1)[..., -half_len:].cpu()

composition = {"clean": layer_1_stripe(model, []).mean((0, -1)),
               "L0H1 removed": layer_1_stripe(model, remove(0, [1])).mean((0, -1)),
               "L0H0 removed": layer_1_stripe(model, remove(0, [0])).mean((0, -1))}
for name, scores in composition.items():
    print(f"{name:13}: layer-1 induction scores {[round(float(s), 2) for s in scores]}")
fig, ax = plt.subplots(figsize=(8, 3))
for i, (name, scores) in enumerate(composition.items()):
    ax.bar([head + (i - 1) * 0.27 for head in range(4)], scores.tolist(), width=0.27, label=name)
ax.set_xticks(range(4), [f"L1H{head}" for head in range(4)])
ax.set(ylim=(0, 1), ylabel="induction score", title="layer-1 induction scores, clean and with one layer-0 head removed")
ax.legend(fontsize=8);

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_layer_1_stripe", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** the layer-1 induction scores fall from about 0.75 to 0.91 to about 0.04
# when L0H1 is removed: the induction heads do not just lose their effect on the output,
# they lose their target. Their weights $W_Q$ and $W_K$ are untouched; what changed is their
# input. Keys and queries are computed from the residual stream, and without L0H1's output
# no key position carries "my previous token was X" any more, so no key matches the query.
# That is K-composition, demonstrated by intervention.
#
# Removing L0H0, which looks two back, lowers the scores to about 0.45 to 0.65. What does it
# add? A guess: keys that also carry the token *two* back let a head check the token before
# the current one as well, a second check on the match. Two predictions follow. It should
# matter most where the current token occurs twice in the block (about a third of tokens
# do, notebook 3): two keys follow a copy of it, and only one is preceded by the right
# token. And it cannot help the first query of the repeat, position 25: the earlier copy of
# its token sits at position 0, with nothing before it. That query should find its target
# less well than the later queries do, and lose nothing when L0H0 is removed. Test both:

# %% nbgrader={"grade": false, "grade_id": "code_twin", "locked": true, "schema_version": 3, "solution": false, "task": false}
block = tokens[:, :25]
twin = ((block[:, :, None] == block[:, None, :]).sum(-1) > 1)[:, :24]  # entries 25-48 sit on copies of block positions 0-23
for name, hooks in [("clean", []), ("L0H0 removed", remove(0, [0]))]:
    after = per_token_loss(model.run_with_hooks(tokens, fwd_hooks=hooks), tokens)[:, 25:]
    stripe = layer_1_stripe(model, hooks).mean((0, 1))  # [query]: mean over the batch and the four heads
    print(f"{name:12}: loss after the repeat where the token has a twin in the block {after[twin].mean():.2f}, "
          f"where it has none {after[~twin].mean():.2f} | layer-1 attention to the target from query 25 "
          f"{stripe[0]:.2f}, from queries 26-49 {stripe[1:].mean():.2f}")


# %% [markdown] nbgrader={"grade": false, "grade_id": "md_twin", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** both predictions hold. Without L0H0, the loss after the repeat rises
# from about 0.1 to about 1.4 where the current token has a twin in the block, but only from
# about 0.03 to about 0.3 where it has none. And query 25 gives its target about 0.65 of the
# layer-1 heads' attention, against about 0.8 from the later queries; without L0H0 it loses
# nothing (about 0.7), while the later queries drop to about 0.5. So L0H0 is a second
# check: the heads match the token before as well, which tells twins apart and sharpens
# every match, and the first query of a repeat never gets it (notebook 5 saw the same on an
# 8+8 sequence).
#
# ## 4 · A verifier, done properly
#
# A claim "head (l, h) is an induction head" should be checked on both counts at once: it
# attends where induction says it should, **and** the model needs it there. Ablation alone
# is not enough (the head could matter for another reason), and attention alone is not
# enough (notebook 4's shortcut heads attend perfectly on 25+25).
#
# ### Exercise 5 ★★ · `verify_induction_head`
#
# Write `verify_induction_head(model, layer, head, half_len)`. On the batch
# `periodic_tokens(64, half_len, 2 * half_len, generator=torch.Generator().manual_seed(0))`
# (moved to the model's device: `next(model.parameters()).device`), return a dict with:
# - `"attention"`: the head's induction score on the clean run (no head removed): its mean
#   attention from the last `half_len` queries to the key `half_len - 1` back, a float;
# - `"loss_increase"`: how much zero-ablating the head raises the loss after the repeat
#   (entries `half_len` onwards of `per_token_loss`), a float;
# - `"first_half_increase"`: the same for the loss before the repeat (entries before
#   `half_len`), a float;
# - `"is_induction_head"`: `True` when the attention is at least 0.4, the loss increase at
#   least 0.1, and the loss increase larger than the first-half increase; else `False`.
#
# *Hints:* `model.run_with_cache(toks)` returns the logits and the cache of the clean run;
# `cache["pattern", layer]` is that layer's `hook_pattern`, `[batch, head, query, key]`. On a
# sequence of `2 * half_len` positions the diagonal `half_len - 1` below the main one has
# `half_len + 1` entries, one per query from `half_len - 1` on; only the last `half_len` of
# them are queries of the repeat.

# %% nbgrader={"grade": false, "grade_id": "verify_induction_head", "locked": false, "schema_version": 3, "solution": true, "task": false}
def verify_induction_head(model, layer, head, half_len):
    ### BEGIN SOLUTION
    device = next(model.parameters()).device
    toks = periodic_tokens(64, half_len, 2 * half_len, generator=torch.Generator().manual_seed(0)).to(device)
    logits, cache = model.run_with_cache(toks)
    stripe = torch.diagonal(cache["pattern", layer][:, head], offset=-(half_len - 1), dim1=-2, dim2=-1)
    attention = stripe[..., -half_len:].mean().item()
    clean = per_token_loss(logits, toks)
    hook = (f"blocks.{layer}.attn.hook_z", partial(zero_ablate_head, head=head))
    ablated = per_token_loss(model.run_with_hooks(toks, fwd_hooks=[hook]), toks)
    loss_increase = (ablated[:, half_len:].mean() - clean[:, half_len:].mean()).item()
    first_half_increase = (ablated[:, :half_len].mean() - clean[:, :half_len].mean()).item()
    return {
        "attention": attention,
        "loss_increase": loss_increase,
        "first_half_increase": first_half_increase,
        "is_induction_head": attention >= 0.4 and loss_increase >= 0.1 and loss_increase > first_half_increase,
    }
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_verify_induction_head", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
_learner_zero = globals().get("zero_ablate_head")
zero_ablate_head = _reference_zero_ablate
### END HIDDEN TESTS
_toks = periodic_tokens(64, 20, 40, generator=torch.Generator().manual_seed(0)).to(device)
_pattern = model.run_with_cache(_toks)[1]["pattern", 1][:, 0]  # L1H0 on 20+20, the clean run: [batch, q, k]
_diagonal = lambda back: torch.diagonal(_pattern, offset=-back, dim1=-2, dim2=-1)
_expected, _one_too_far, _every_query = (_diagonal(19)[..., -20:].mean().item(), _diagonal(20)[..., -20:].mean().item(),
                                         _diagonal(19).mean().item())
_report = verify_induction_head(model, 1, 2, 20)
assert set(_report) == {"attention", "loss_increase", "first_half_increase", "is_induction_head"}, \
    f"expected the keys attention, loss_increase, first_half_increase, is_induction_head; got {sorted(_report)}"
assert all(isinstance(_report[key], float) for key in ("attention", "loss_increase", "first_half_increase")), \
    "attention, loss_increase and first_half_increase should be Python floats (.item())"
_attention = verify_induction_head(model, 1, 0, 20)["attention"]
assert abs(_attention - _one_too_far) > 1e-3, \
    f"L1H0's attention {_attention:.3f} is to the key half_len back, the earlier copy itself (a duplicate-token " \
    "head's target): an induction head attends to the token after it, half_len - 1 back"
assert abs(_attention - _every_query) > 1e-3, \
    f"L1H0's attention {_attention:.3f} averages every query on the diagonal, including query half_len - 1 in the " \
    "first half: keep only the last half_len queries, those of the repeat ([..., -half_len:])"
assert abs(_attention - _expected) < 1e-3, \
    f"L1H0 on 20+20: attention should be its mean attention on the clean run from the last 20 queries to the key " \
    f"19 back, {_expected:.3f}; got {_attention:.3f}"
assert _report["is_induction_head"] is True, f"L1H2 should pass, and the verdict should be a Python bool: {_report}"
assert verify_induction_head(model, 0, 1, 20)["is_induction_head"] is False, "the previous-token head is not an induction head"
print("verify_induction_head passed the visible test:", {k: round(v, 2) if isinstance(v, float) else v for k, v in _report.items()})
### BEGIN HIDDEN TESTS
def _reference_verify(m, layer, head, half_len):
    dev = next(m.parameters()).device
    toks = periodic_tokens(64, half_len, 2 * half_len, generator=torch.Generator().manual_seed(0)).to(dev)
    logits, cache = m.run_with_cache(toks)
    attention = torch.diagonal(cache["pattern", layer][:, head], offset=-(half_len - 1), dim1=-2, dim2=-1)[..., -half_len:].mean().item()
    clean = per_token_loss(logits, toks)
    ablated = per_token_loss(m.run_with_hooks(toks, fwd_hooks=[(f"blocks.{layer}.attn.hook_z", partial(_reference_zero_ablate, head=head))]), toks)
    return attention, (ablated[:, half_len:].mean() - clean[:, half_len:].mean()).item(), \
        (ablated[:, :half_len].mean() - clean[:, :half_len].mean()).item()

def _check_verify_induction_head():
    shipped = load_checkpoint(SHIPPED_CHECKPOINTS["induction"], device)
    shortcut = load_checkpoint(SHIPPED_CHECKPOINTS["shortcut"], device)
    for m, layer, head, half in [(shipped, 1, 0, 25), (shipped, 0, 1, 25), (shipped, 1, 3, 12),
                                 (shortcut, 0, 1, 25), (shortcut, 0, 0, 25), (shortcut, 0, 1, 20), (shortcut, 1, 3, 25)]:
        report = verify_induction_head(m, layer, head, half)
        attention, increase, first = _reference_verify(m, layer, head, half)
        for key, expected in [("attention", attention), ("loss_increase", increase), ("first_half_increase", first)]:
            assert abs(float(report[key]) - expected) < 1e-3, \
                f"L{layer}H{head}, half_len {half}: {key} should be {expected:.3f}, got {float(report[key]):.3f}"
        verdict = attention >= 0.4 and increase >= 0.1 and increase > first
        assert isinstance(report["is_induction_head"], bool), "is_induction_head must be a Python bool"
        assert report["is_induction_head"] == verdict, \
            f"L{layer}H{head}, half_len {half}: attention {attention:.2f}, loss increase {increase:.2f}, " \
            f"first half {first:.2f} -> is_induction_head should be {verdict}"
_check_verify_induction_head()
zero_ablate_head = _learner_zero
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_about_verify_every_head", "locked": true, "schema_version": 3, "solution": false, "task": false}
# Run the verifier on every head of both models, on 25+25 and on 20+20:

# %% nbgrader={"grade": false, "grade_id": "code_verify_every_head", "locked": true, "schema_version": 3, "solution": false, "task": false}
for name, m in [("your model", model), ("shortcut model", shortcut_model)]:
    for half_len in (25, 20):
        reports = {f"L{l}H{h}": verify_induction_head(m, l, h, half_len) for l in range(2) for h in range(4)}
        print(f"{name}, {half_len}+{half_len}: verified induction heads "
              f"{[label for label, detail in reports.items() if detail['is_induction_head']]}")
        if m is shortcut_model and half_len == 25:
            for label in ("L0H0", "L0H1", "L0H2", "L0H3"):
                detail = reports[label]
                print(f"    {label}: attention {detail['attention']:.2f}, loss increase after the repeat "
                      f"{round(detail['loss_increase'], 3) + 0.0:+.3f}, before it "
                      f"{round(detail['first_half_increase'], 3) + 0.0:+.3f}")  # + 0.0: no -0.000

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_verify_every_head", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** your model's four layer-1 heads verified on both inputs. On 25+25 the
# shortcut model's L0H1 and L0H2 pass too: all four of its layer-0 heads attend to the right
# key (about 0.93), and removing L0H1 or L0H2 costs about 0.56 or 0.12 after the repeat and
# nothing before it. L0H3 misses the 0.1 threshold by a hair, and L0H0 costs only 0.03 (the
# other three stand in for it). On 20+20 none passes. Even a verifier that checks attention
# and causal effect together only speaks for the inputs it was run on: checked on the
# training distribution, the shortcut passes. Run verifiers where the rival explanations
# disagree.
#
# ## 5 · The shortcut model under the same knife
#
# Put both models side by side: one head at a time, then whole layers.

# %% nbgrader={"grade": false, "grade_id": "code_shortcut_ablation", "locked": true, "schema_version": 3, "solution": false, "task": false}
all_layer_0 = remove(0, range(4))
shortcut_table = ablation_table(shortcut_model, tokens, 25, "zero")
fig, axes = plt.subplots(1, 2, figsize=(10, 3))
show_table(zero_table, "your model: zero ablation, 25+25", axes[0])
show_table(shortcut_table, "shortcut model: zero ablation, 25+25", axes[1])
fig.tight_layout()
for name, m in [("your model", model), ("shortcut model", shortcut_model)]:
    print(f"{name:15}: loss after the repeat: clean {losses_with(m, [])[1]:.2f} | all layer-0 heads removed "
          f"{losses_with(m, all_layer_0)[1]:.2f} | all layer-1 heads removed {losses_with(m, all_layer_1)[1]:.2f}")
print_table(shortcut_table, "shortcut model, increase in the loss after the repeat:")
current_token = lambda hooks: shortcut_model.run_with_hooks(tokens, fwd_hooks=hooks).softmax(-1)[:, :24].gather(
    -1, tokens[:, :24, None]).mean().item()  # positions 0-23: the probability that the next token repeats this one
print(f"shortcut model, before the repeat: loss clean {losses_with(shortcut_model, [])[0]:.2f}, L1H3 removed "
      f"{losses_with(shortcut_model, remove(1, [3]))[0]:.2f} | probability that the next token repeats the current one "
      f"(positions 0-23): clean {current_token([]):.3f}, L1H3 removed {current_token(remove(1, [3])):.3f}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_shortcut_ablation", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** two different stories.
# - **Your model:** one layer-0 head (L0H1) is indispensable (+4.0 alone); removing it also
#   blinds layer 1 (induction scores down to about 0.04). Layer 1 carries the copying (all
#   four removed: about 4.2).
# - **The shortcut model:** no single head matters much: its four layer-0 heads each copy
#   from 24 back, and any one of them can stand in for another (+0.03 to +0.56). Remove all
#   four and the loss goes to about 3.9: the copying lives *in layer 0 itself*, a one-layer
#   mechanism, and there is no previous-token head to remove. Layer 1 is not idle, though:
#   removing L1H2 costs about +0.26 after the repeat, and removing L1H3 raises the loss
#   *before* the repeat from about 4.04 to about 4.85. Before position 24 there is nothing
#   24 back to copy, and the rest of the model leans towards the current token instead, a
#   bet that is wrong 63 times in 64 on random tokens; L1H3 cancels it. Without L1H3 the
#   model gives the current token about 0.07 of its probability, instead of about 0.016,
#   which is $1/64$. That is clean-up, not copying: with all four layer-1 heads removed the
#   loss after the repeat is still only about 0.3.
#
# Same architecture, nearly the same loss on 25+25, two different algorithms; attention
# scores on 25+25 could not tell them apart, interventions on the right inputs can.
#
# ## 6 · Zero or mean?
#
# Compare the two tables from section 2. They agree on what matters, but zero ablation
# reports slightly larger effects for the layer-0 heads (about +4.0 against +3.8 for L0H1,
# +0.6 against +0.5 for L0H0). A head's output has an average part, the same for every input
# (it comes from positions and from the biases), and an input-dependent part (which tokens
# it moved). Zero ablation removes both, so it also shifts every later computation by the
# missing average, something the model never sees in training. Mean ablation removes only
# the input-dependent part, which is closer to "the model without this head's
# information". The two differ most for heads whose average output is large, and the mean
# is only defined relative to a data set: take it over inputs like the ones you test on.

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_about_written_gpt2", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### Written question 1 (graded by hand)
#
# Removing all four layer-1 heads of your model sends the loss after the repeat to about
# 4.2, chance level for its 64 tokens. Suppose you ran the same experiment on GPT-2 small:
# zero-ablate its main induction heads (notebook 4 finds them; 5.1 means layer 5, head 1: 5.1,
# 5.5, 6.9, 7.2 and 7.10; GPT-2 small has 12 layers of 12 heads, each layer with an MLP, a
# small two-layer network applied at each position, after its attention, and LayerNorms,
# which rescale the stream; neither matters for the answer)
# and measure the loss after the repeat on repeated random tokens. A uniform guess over
# GPT-2's 50,257 tokens costs $\ln 50257 \approx 10.8$ nats. Would you expect the loss to
# rise that far? Give two reasons why it would stay well below.
# ### BEGIN MARK SCHEME
# **Marking guide (2 points, graders only).**
#
# *Model answer.* (1) Induction is not fully removed: GPT-2 has more heads that do
# induction, or part of it, than the ones ablated (its induction scores form a continuum),
# and backup heads take over part of the job when the main ones are removed, so some copying
# survives. (2) Chance for GPT-2 is a uniform guess over 50257 tokens,
# $\ln 50257 \approx 10.8$, and other mechanisms (duplicate-token heads, heuristics in later
# layers that favour tokens already in the context) still give the tokens seen before extra
# probability: merely knowing that the next token is one of the $n$ tokens in the context
# costs at most $\ln n$ (about 3.9 for 50). The toy model has nothing but the circuit, so
# removing it leaves uniform guessing.
#
# *Rubric.*
# - 1 point: copying survives the ablation because other heads do some induction (more heads
#   than the ablated ones, a continuum of scores) or backup heads compensate.
# - 1 point: GPT-2 has non-induction mechanisms that raise the probability of tokens already
#   in the context, so without induction it is still far from a uniform guess
#   ($\ln 50257 \approx 10.8$), unlike the toy model, which has only the circuit.
# - Vague answers ("GPT-2 is bigger", "it knows language") earn nothing: on random tokens
#   general language knowledge does not help. Two reasons that are the same idea count once.
# ### END MARK SCHEME

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_gpt2", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# See the model answer in the marking guide of the question above.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_about_written_redundancy", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### Written question 2 (graded by hand)
#
# Your ablation table puts each layer-1 head at about +0.2, while removing all four raises
# the loss after the repeat from about 0.06 to about 4.2. A colleague concludes from the
# table alone that "layer 1 barely matters". What is wrong with the conclusion, and how would
# you design an ablation study that avoids it?
# ### BEGIN MARK SCHEME
# **Marking guide (2 points, graders only).**
#
# *Model answer.* One-at-a-time ablation measures what a head adds given that all the others
# are present. The four layer-1 heads are redundant: each writes a copy of the answer and
# the others compensate for a missing one, so single-head effects do not add up to the
# group's effect ($4 \times 0.2 = 0.8$, far below the group's
# 4.15). A small effect per head does not
# mean a small effect of the layer. Ablate groups as well as single heads (the whole layer,
# all heads with a hypothesised role, pairs and triples to find interactions: with four
# heads every subset is cheap), or use path patching or mean ablation of the group, and
# check that restoring the group restores the behaviour.
#
# *Rubric.*
# - 1 point: the flaw: single-head ablations measure marginal effects with the other heads
#   present; redundant heads compensate, effects are not additive, so a small per-head cost
#   says nothing about the layer (removing all four sends the loss to chance).
# - 1 point: a design that measures joint effects: ablate the whole layer or hypothesised
#   groups, and subsets (pairs, triples) to expose interactions; restoring the group to show
#   it suffices is a plus.
# - Common wrong answer: "use mean ablation instead of zero ablation" or "use more data"
#   alone: one head at a time still hides redundancy, so no credit for the second point.
# ### END MARK SCHEME

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_redundancy", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# See the model answer in the marking guide of the question above.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_recap", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Recap
#
# - A hook on `hook_z` removes one head's contribution during the forward pass: zero
#   ablation removes all of it, mean ablation only the input-dependent part.
# - Removing the previous-token head, or all the induction heads, sends the loss after the
#   repeat back to chance while the loss before it does not rise (without the induction
#   heads it falls: they bet on tokens already seen, which before the repeat is usually
#   wrong). The circuit is necessary.
# - Removing the previous-token head makes the induction heads lose their target:
#   K-composition, shown by intervention. The head that looks two back adds a second check
#   on the match, which matters most for tokens that occur twice.
# - One-at-a-time ablation underrates redundant heads; ablate groups too.
# - A verifier is only as good as the inputs it runs on: the shortcut passes on 25+25 and
#   fails on 20+20.
#
# That completes the circuit: you found it in the stream (1), read it from the weights (2),
# grew it (3), scored it (4), saw it (5) and proved it is what the model uses (6).
#
# ### Recap questions (auto-graded)
#
# 1. `recap_chance_after_ablation`: to the nearest whole nat (the unit of these losses), the
#    loss after the repeat with all four layer-1 heads removed (an int).
# 2. `recap_hook_point`: the full name of the hook point you ablate head outputs at in layer 0,
#    as you would pass it in `fwd_hooks` (a string).
# 3. `recap_first_half_rises`: does removing the induction heads raise the loss *before* the
#    repeat? (`True` or `False`)

# %% nbgrader={"grade": false, "grade_id": "recap_answers", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
recap_chance_after_ablation = 4
recap_hook_point = "blocks.0.attn.hook_z"
recap_first_half_rises = False
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_recap", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
assert isinstance(recap_chance_after_ablation, int) and isinstance(recap_hook_point, str) \
    and isinstance(recap_first_half_rises, bool), "an int, a string and a bool"
print("recap answers have the right types (the grader checks their values)")
### BEGIN HIDDEN TESTS
assert recap_chance_after_ablation == 4, "recap 1: ln 64 is about 4.16"
assert recap_hook_point.strip() == "blocks.0.attn.hook_z", "recap 2: the per-head output, before W_O"
assert recap_first_half_rises is False, "recap 3: compare the loss before the repeat with and without layer 1"
### END HIDDEN TESTS
