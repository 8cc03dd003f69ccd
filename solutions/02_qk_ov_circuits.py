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
# # 2 · Reading circuits from weights: QK and OV
#
# Notebook 1 watched the answer appear in the residual stream. This notebook opens the
# weights themselves and reads, without running the model on any input, what each head
# looks for and what it copies. In the toy model that is enough to find both halves of the
# induction circuit, and to see how they are wired together.
#
# **Time:** about 2 hours if attention's insides are new to you (Python and PyTorch
# basics are all it assumes), about 60 if you know them. **Runs in:** under a minute on a
# laptop CPU.
#
# **By the end you will**
# - split each head into a **QK circuit** (where it looks) and an **OV circuit** (what it
#   moves), and use `FactoredMatrix` to handle their products cheaply;
# - show that the induction heads' OV circuits copy tokens, and that the previous-token head's
#   attention comes from positions alone;
# - measure **K-composition**: how the induction heads build their keys from the
#   previous-token head's output, and why no single head could do it;
# - (with internet) read GPT-2 small's induction head 5.5 (layer 5, head 5) the same way.
#
# **Exercises:** six to code (★ short, ★★ needs thought), one written answer (graded by your
# instructor), three recap questions.

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_prerequisites", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **What you need from earlier notebooks.** If you start here, this is enough:
# - *The task.* Random tokens that repeat. A "25+25" sequence is 25 random tokens from a
#   vocabulary of 64, followed by the same 25 again; `periodic_tokens(batch, 25, 50)` makes a
#   batch of them. In the second half every next token can be read off the first: after a
#   token A, predict whatever followed A last time. Doing that by looking back at the earlier
#   copy is **induction** ([A][B] ... [A] → [B]).
# - *The circuit this notebook looks for* (Olsson et al., 2022, in the references at the
#   end). A **previous-token head** in layer 0 writes at every position "the token before me
#   was s". An **induction head** in layer 1, at a position holding A, attends to the position
#   whose previous token was A, the one right after the earlier A, and copies the token it
#   finds there, B.
# - *The model.* `model`, loaded below, already trained (notebook 3 trains your own): 2 layers
#   of 4 attention heads, named L0H0 to L1H3 (layer 0 head 0 to layer 1 head 3); attention
#   only, no MLPs; no LayerNorm; a stream of width `d_model` = 64, heads of width `d_head` = 16;
#   a vocabulary of 64 tokens, shown as two-letter labels; contexts of 50 positions, each with
#   a learned positional embedding (the rows of `W_pos`). It was trained on repeats whose
#   period varies (between 4 and 25 tokens): that is what makes it learn induction (notebook 3 shows what a
#   model trained on 25+25 alone learns instead).
# - *The residual stream* (notebook 1). Each position carries one vector of width 64 that is a
#   running sum: the token's embedding `W_E[t]`, plus the position's `W_pos[p]`, plus whatever
#   every head writes there. Each head reads the sum and adds its output to it, and the logits
#   are the final sum times the unembedding `W_U`, plus `b_U`.
# - *TransformerLens*, the library the model runs on: every weight is an attribute with a
#   fixed shape (`model.W_Q[layer, head]` is `[d_model, d_head]`), and
#   `logits, cache = model.run_with_cache(tokens)` keeps every activation, such as the
#   attention pattern `cache["pattern", layer]`, `[batch, head, query, key]`. The cache is
#   keyed by the names of the points it was read at: `"hook_embed"` and `"hook_pos_embed"`
#   hold each position's token and positional embeddings, and `"blocks.1.hook_resid_pre"` the
#   stream as it enters layer 1 (each `[batch, pos, d_model]`).
#
# Section 0 opens up one attention head. Notebooks 4 and 5 find the same circuit from the
# attention it produces; notebook 6 proves it matters by removing heads.

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_before_start", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Before you start.** The first code cell, just below the Colab badge, installs the course toolkit,
# `induction_circuits`, if it is missing: on Colab run it first, and it takes about a minute
# (it keeps Colab's own torch); on your own machine `make lab` (see the README) has installed
# it already, and the cell does nothing. Then run the next cell: it imports what this
# notebook uses, loads the trained model, and prints one line that says whether you have a
# GPU. Nothing here needs one.
# This course runs on TransformerLens 4 and its `TransformerBridge`: tutorials written for the
# older `HookedTransformer` need the 4.x names to run (notebook 1 says which).

# %% nbgrader={"grade": false, "grade_id": "code_setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import math

import matplotlib.pyplot as plt
import torch
from transformer_lens.FactoredMatrix import FactoredMatrix

from induction_circuits.data import periodic_tokens, token_labels
from induction_circuits.model import SHIPPED_CHECKPOINTS, load_checkpoint, make_model
from induction_circuits.plotting import draw_induction_circuit
from induction_circuits.setup import load_gpt2, start

torch.set_grad_enabled(False)  # this notebook only reads weights; nothing is trained
device = start()
model = load_checkpoint(SHIPPED_CHECKPOINTS["induction"], device)

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_inside_one_head", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 0 · Inside one attention head
#
# Everything below reads an attention head's weights, so here is what a head computes.
# Stack the stream at every position of one sequence as the rows of a matrix $X$
# (`[pos, d_model]`). Head $h$ of layer $\ell$ has weights `model.W_Q[ℓ, h]`, `W_K[ℓ, h]`
# and `W_V[ℓ, h]`, each `[d_model, d_head]`, `W_O[ℓ, h]`, `[d_head, d_model]`, and biases
# `b_Q`, `b_K`, `b_V`, `[d_head]`.
#
# 1. **Queries, keys, values:** $Q = X W_Q + b_Q$, $K = X W_K + b_K$, $V = X W_V + b_V$, each
#    `[pos, d_head]`. Row $i$ of $Q$ is what position $i$ looks for, row $j$ of $K$ what
#    position $j$ can be found by, row $j$ of $V$ what it hands over when found.
# 2. **Scores:** $S = Q K^\top / \sqrt{d_{head}}$, `[pos, pos]`: query $i$ against key $j$. A dot
#    product of $d_{head}$ terms grows like $\sqrt{d_{head}}$; dividing by it keeps the scores
#    in a range where the softmax is not saturated, whatever the head width.
# 3. **Causal mask:** the model predicts each next token from what comes before it, so query
#    $i$ may not see a key $j > i$: those scores become $-\infty$.
# 4. **Pattern:** a softmax over the keys turns each row into weights that sum to 1,
#    $A = \mathrm{softmax}(S)$. TransformerLens caches it as `cache["pattern", ℓ]`,
#    `[batch, head, query, key]`.
# 5. **Output:** $Z = A V$, `[pos, d_head]` (`hook_z` in the cache), mixes the values, and
#    $Z W_O$, `[pos, d_model]`, is what the head adds to the stream. A layer adds all its
#    heads' outputs, plus one bias `b_O`.
#
# So a head **reads** the stream through $W_Q$ (at the query) and through $W_K$ and $W_V$ (at
# the keys), and **writes** to it through $W_O$. $W_O$ has only $d_{head} = 16$ rows, so a
# head writes into a subspace of at most 16 of the stream's 64 dimensions, and each of its
# reading matrices sees at most 16 directions of the stream. Later heads can read what
# earlier heads wrote because it is all one sum. The cell below computes the pattern of
# layer 0's head 1 from its weights, and compares it with the one the model computed.

# %% nbgrader={"grade": false, "grade_id": "code_one_head_by_hand", "locked": true, "schema_version": 3, "solution": false, "task": false}
primer_tokens = periodic_tokens(8, 25, 50, generator=torch.Generator().manual_seed(0), device=device)
_, primer_cache = model.run_with_cache(primer_tokens)
layer, head = 0, 1
X = primer_cache[f"blocks.{layer}.hook_resid_pre"]              # [batch, pos, d_model]
Q = X @ model.W_Q[layer, head] + model.b_Q[layer, head]        # [batch, pos, d_head]
K = X @ model.W_K[layer, head] + model.b_K[layer, head]
S = Q @ K.transpose(-1, -2) / math.sqrt(model.cfg.d_head)      # [batch, query, key]
S = S.masked_fill(torch.ones(50, 50, dtype=torch.bool, device=device).triu(1), float("-inf"))
pattern_by_hand = S.softmax(-1)
print("stream", tuple(X.shape), "| queries", tuple(Q.shape), "| pattern", tuple(pattern_by_hand.shape))
print("same as the model's own pattern:", torch.allclose(pattern_by_hand, primer_cache["pattern", layer][:, head], atol=1e-5))

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_one_head_by_hand", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** shapes `(8, 50, 64)`, `(8, 50, 16)` and `(8, 50, 50)`, and `True`.

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_head_two_circuits", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1 · A head is two circuits
#
# TransformerLens multiplies row vectors by weights on the right. For head $h$ in layer
# $\ell$, with $x_q$ the stream at the query position and $x_k$ at a key position:
#
# - **QK: where it looks.** The attention score is $x_q W_Q (x_k W_K)^\top = x_q\,W_Q W_K^\top\,x_k^\top$,
#   a bilinear form (a number from two row vectors, linear in each: $x M y^\top$) with the
#   $d_{model} \times d_{model}$ matrix $W_{QK} = W_Q W_K^\top$.
# - **OV: what it moves.** What the head adds to the query's stream is a weighted sum of
#   $x_k W_V W_O$: the matrix $W_{OV} = W_V W_O$ maps what sits at the key into what is
#   written at the query.
#
# (Biases add constants; we leave them out of these matrices.) Both matrices act on whatever
# the stream holds at those positions. Both are products of a $d_{model} \times d_{head}$ and
# a $d_{head} \times d_{model}$ matrix, so their rank is at most $d_{head} = 16$.
# `FactoredMatrix` stores such a product as its two factors: it multiplies, transposes and
# takes norms, eigenvalues and SVDs without forming the full product. That does not matter
# for a 64 x 64 matrix. It matters for GPT-2, where $W_E W_{OV} W_U$ would be 50257 x 50257
# (10 GB) but its factors are 50257 x 64 and 64 x 50257.
# TransformerLens gives every head's matrices as `model.QK` and `model.OV`:

# %% nbgrader={"grade": false, "grade_id": "code_factored_matrix", "locked": true, "schema_version": 3, "solution": false, "task": false}
print(type(model.OV).__name__, tuple(model.OV.shape), "| inner dimension, the most its rank can be:", model.OV[1, 0].mdim)
print("factors:", tuple(model.OV[1, 0].A.shape), "x", tuple(model.OV[1, 0].B.shape))
# The SVD comes from the factors too: only 16 singular values can be nonzero, and it returns those.
singular_values = model.OV[1, 0].S
print(f"{len(singular_values)} singular values of L1H0's OV:", [round(v, 2) for v in singular_values.tolist()])


# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_factored_matrix", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** 16 singular values, from 5.1 down to 1.5. (A matrix's singular values say
# how much it stretches vectors along each of its independent directions; how many are
# nonzero is its rank, the number of dimensions it can carry.) None is near 0 and none
# dominates: L1H0 uses all 16 dimensions it has. But a matrix of rank 16 cannot act as the
# identity on all 64 dimensions, so no head can copy all 64 tokens perfectly; how close they
# come is what the next two exercises measure.
#
# ### Exercise 1 ★ · `full_ov_circuit`
#
# What does a head copy, in terms of *tokens*? Put the embedding in front and the
# unembedding behind: row $t$ of $W_E W_V W_O W_U$ is how much the head, attending to token
# $t$, raises each output token's logit. A copying head has large diagonal entries.
#
# This is an approximation, the **direct path**. In front, it assumes the stream at the key
# holds only the token's embedding, leaving out its positional embedding and what layer 0
# wrote there. Behind, it sends the head's output straight to the unembedding: exact for
# layer 1 (nothing comes after it, and there is no LayerNorm), but for a layer-0 head it
# leaves out what layer 1 does with the output. The rest of this section checks how good the
# front end is.
#
# Write `full_ov_circuit(model, layer, head)` returning $W_E\,W_V W_O\,W_U$ (shape
# `[d_vocab, d_vocab]`) as a `FactoredMatrix`.
#
# *Hint:* `FactoredMatrix(A, B)` represents `A @ B`; choose `A = W_E @ W_V[layer, head]` and
# `B = W_O[layer, head] @ W_U`, or multiply `model.OV[layer, head]` by tensors on each side.

# %% nbgrader={"grade": false, "grade_id": "full_ov_circuit", "locked": false, "schema_version": 3, "solution": true, "task": false}
def full_ov_circuit(model, layer, head):
    ### BEGIN SOLUTION
    return FactoredMatrix(model.W_E @ model.W_V[layer, head], model.W_O[layer, head] @ model.W_U)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_full_ov_circuit", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
_ov = full_ov_circuit(model, 1, 0)
assert isinstance(_ov, FactoredMatrix), "return a FactoredMatrix: FactoredMatrix(A, B), or FactoredMatrix @ tensor"
assert tuple(_ov.shape) == (64, 64), f"expected [d_vocab, d_vocab] = (64, 64), got {tuple(_ov.shape)}"
_dense = _ov.AB
assert torch.allclose(_dense, model.W_E @ model.W_V[1, 0] @ model.W_O[1, 0] @ model.W_U, atol=1e-3), \
    "the full OV circuit is W_E W_V W_O W_U for that head"
print("full_ov_circuit passed the visible test")
### BEGIN HIDDEN TESTS
def _check_full_ov_circuit():
    small = make_model(seed=3, n_layers=3, n_heads=2, d_head=8, d_vocab=20)
    for layer, head in [(0, 1), (2, 0)]:
        got = full_ov_circuit(small, layer, head)
        assert isinstance(got, FactoredMatrix), "return a FactoredMatrix"
        got = got.AB
        expected = small.W_E @ small.W_V[layer, head] @ small.W_O[layer, head] @ small.W_U
        assert tuple(got.shape) == (20, 20), f"expected (d_vocab, d_vocab) = (20, 20), got {tuple(got.shape)}"
        assert torch.allclose(got, expected, atol=1e-4), f"wrong matrix for layer {layer}, head {head}"
_check_full_ov_circuit()
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_about_top1_diagonal_accuracy", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### Exercise 2 ★ · `top1_diagonal_accuracy`
#
# One number for "does this matrix copy?": the fraction of rows whose largest entry is on
# the diagonal. A random matrix scores about 1 in 64 (0.016): each row's largest entry is
# equally likely to be any of the 64. Write `top1_diagonal_accuracy(matrix)` for a square
# tensor or `FactoredMatrix` (use `.AB` to get a `FactoredMatrix`'s full product). Return a
# float.

# %% nbgrader={"grade": false, "grade_id": "top1_diagonal_accuracy", "locked": false, "schema_version": 3, "solution": true, "task": false}
def top1_diagonal_accuracy(matrix):
    ### BEGIN SOLUTION
    dense = matrix.AB if isinstance(matrix, FactoredMatrix) else matrix
    rows = torch.arange(dense.shape[0], device=dense.device)
    return (dense.argmax(-1) == rows).float().mean().item()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_top1_diagonal_accuracy", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert abs(float(top1_diagonal_accuracy(torch.eye(5))) - 1.0) < 1e-6, "the identity copies every row"
_shift = torch.eye(4).roll(1, dims=1)
assert abs(float(top1_diagonal_accuracy(_shift))) < 1e-6, "a shifted identity copies nothing"
_m = torch.tensor([[3.0, 0, 0], [2, 1, 0], [2, 0, 1]])  # only row 0 peaks on the diagonal
assert abs(float(top1_diagonal_accuracy(_m)) - 1 / 3) < 1e-6, \
    f"expected 1/3 (look along each row, for its largest entry), got {float(top1_diagonal_accuracy(_m)):.3f}"
assert abs(float(top1_diagonal_accuracy(FactoredMatrix(torch.eye(3), _m))) - 1 / 3) < 1e-6, \
    "it should work on a FactoredMatrix too"
print("top1_diagonal_accuracy passed the visible test")
### BEGIN HIDDEN TESTS
def _check_top1():
    m = torch.zeros(4, 4)
    m[0, 0] = m[1, 2] = m[2, 2] = m[3, 0] = 1.0
    assert abs(float(top1_diagonal_accuracy(m)) - 0.5) < 1e-6, "rows 0 and 2 peak on the diagonal: expected 0.5"
    assert abs(float(top1_diagonal_accuracy(FactoredMatrix(m, torch.eye(4)))) - 0.5) < 1e-6, \
        "works on a FactoredMatrix too"
    assert isinstance(top1_diagonal_accuracy(torch.eye(3)), (float, torch.Tensor))
_check_top1()
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "code_ov_accuracy_per_head", "locked": true, "schema_version": 3, "solution": false, "task": false}
for layer in range(2):
    scores = [top1_diagonal_accuracy(full_ov_circuit(model, layer, head)) for head in range(4)]
    print(f"layer {layer} OV top-1 diagonal accuracy per head:", [round(s, 2) for s in scores])
ov = full_ov_circuit(model, 1, 2).AB
plt.figure(figsize=(5, 4.5))
limit = ov.abs().max().item()
plt.imshow(ov.cpu(), cmap="RdBu_r", vmin=-limit, vmax=limit)
plt.title("full OV circuit of L1H2"); plt.xlabel("output token"); plt.ylabel("attended token")
plt.colorbar();

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_ov_accuracy_per_head", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** 0 for three layer-0 heads and 0.05 for L0H3 (3 rows of 64, about what
# chance gives): layer 0 does not copy the token it attends to into the output. The layer-1
# heads score 0.78, 0.67, 1.00 and 0.77; L1H2's heatmap has a bright diagonal: attend to
# token $t$, predict token $t$. The layer-1 heads are the copiers.
#
# How good is the direct path for them? On 25+25 sequences, take what each layer-1 head
# adds to the logit of the correct next token (leaving out its constant biases), and split
# it by what the head read at the keys: the token embedding, the positional embedding, and
# layer 0's output. The stream is the sum of the three, and once the pattern is fixed the
# head is linear in what it reads.

# %% nbgrader={"grade": false, "grade_id": "code_ov_reads_token_or_position", "locked": true, "schema_version": 3, "solution": false, "task": false}
ov_tokens = periodic_tokens(64, 25, 50, generator=torch.Generator().manual_seed(0), device=device)
_, ov_cache = model.run_with_cache(ov_tokens)
read_at_keys = {"token": ov_cache["hook_embed"], "position": ov_cache["hook_pos_embed"].expand_as(ov_cache["hook_embed"])}
read_at_keys["layer 0"] = ov_cache["blocks.1.hook_resid_pre"] - read_at_keys["token"] - read_at_keys["position"]
next_tokens = ov_tokens[:, 26:50]  # what positions 25 to 48 should predict
for head in range(4):
    shares = []
    for name, part in read_at_keys.items():
        written = ov_cache["pattern", 1][:, head] @ (part @ model.OV[1, head].AB)  # [batch, query, d_model]
        logits_from_part = written @ model.W_U
        logits_from_part = logits_from_part - logits_from_part.mean(-1, keepdim=True)  # only differences matter
        shares.append(f"{name} {logits_from_part[:, 25:49].gather(-1, next_tokens[..., None]).mean():+.2f}")
    print(f"L1H{head} raises the correct next token's logit by, from what it read at the keys:", ", ".join(shares))

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_ov_reads_token_or_position", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** about +1.9 to +3.4 from the token embeddings and 0.00 to -0.05 from the
# rest: on this task the direct path is essentially all a layer-1 head contributes, so its
# full OV circuit describes what it does.
#
# `FactoredMatrix` also gives eigenvalues without forming the product (the nonzero
# eigenvalues of $AB$ are those of the small $BA$: 16 here). An eigenvector $v$ with
# eigenvalue $\lambda$ is a direction the matrix maps onto itself, scaled by $\lambda$; a
# copying matrix maps what it reads back onto itself, so its eigenvalues are positive. A
# common one-number summary is $\sum_i \lambda_i / \sum_i |\lambda_i|$: 1 for a pure copier,
# -1 for a pure "anti-copier".

# %% nbgrader={"grade": false, "grade_id": "code_ov_eigenvalues", "locked": true, "schema_version": 3, "solution": false, "task": false}
for head in range(4):
    eigenvalues = full_ov_circuit(model, 1, head).eigenvalues
    turn = eigenvalues.angle().abs().rad2deg().max().item()  # 0 for a positive real eigenvalue
    print(f"L1H{head} copying score {(eigenvalues.sum() / eigenvalues.abs().sum()).real.item():.2f} | "
          f"{(eigenvalues.imag != 0).sum().item()} of {len(eigenvalues)} eigenvalues complex, "
          f"largest angle {turn:.1f} degrees | imaginary part of their sum {eigenvalues.sum().imag.item():.0e}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_ov_eigenvalues", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** a copying score of 1.00 for every layer-1 head, with 4 to 8 of the 16
# eigenvalues complex, at angles of 3 degrees at most, and a sum whose imaginary part is 0.
#
# Why complex, and why `.real`? $W_E W_{OV} W_U$ is not symmetric, so some eigenvalues can be
# complex. They come in conjugate pairs $a \pm bi$; such a pair means the matrix turns a
# plane of directions by the angle $\arctan(b/a)$ while stretching it by $\sqrt{a^2+b^2}$. The
# angles here are tiny: the heads map what they read almost exactly back onto itself. The
# sum of all eigenvalues is the trace, the sum of the diagonal, which is real (the imaginary
# parts of each pair cancel), so `.real` only drops a zero. The copying score is therefore
# the trace compared with the total size of the eigenvalues: positive when, summed over
# tokens, the head raises the attended token's own logit.
#
# Copying scores of 1.00 beside top-1 accuracies of 0.67 to 1.00 (L1H2 alone reaches 1.00) are
# not a contradiction:
# the score adds up over all tokens, while top-1 asks, token by token, whether the attended
# token beats all 63 others. With 16 dimensions for 64 tokens, a head that raises the right
# token a lot may raise a similar one a little more. And the heads work together: on a
# repeat all four attend to the same key (notebook 4 measures it), so their outputs add up.

# %% nbgrader={"grade": false, "grade_id": "code_ov_heads_together", "locked": true, "schema_version": 3, "solution": false, "task": false}
together = sum(full_ov_circuit(model, 1, head).AB for head in range(4))
for head in range(4):
    circuit = full_ov_circuit(model, 1, head).AB
    outranked_by = (circuit > circuit.diagonal()[:, None]).sum(-1)  # tokens raised more than the attended one
    print(f"L1H{head}: the attended token is in the top 3 of its row for {(outranked_by < 3).float().mean():.0%} "
          f"of the 64 tokens, and first for {(outranked_by == 0).float().mean():.0%}")
print(f"all four layer-1 heads added together: top-1 diagonal accuracy {top1_diagonal_accuracy(together):.2f}")


# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_ov_heads_together", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** each head put the attended token in its top 3 for 84% to 100% of the
# tokens, and the four heads together copy every token: top-1 diagonal accuracy 1.00.

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_qk_circuit", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2 · The QK circuit
#
# ### Exercise 3 ★ · `full_qk_circuit`
#
# Write `full_qk_circuit(model, layer, head)` returning $W_E W_Q W_K^\top W_E^\top$ as a
# `FactoredMatrix` (shape `[d_vocab, d_vocab]`): entry $[s, t]$ is the attention score a
# query holding token $s$ gives a key holding token $t$, from token identity alone. Like the
# full OV circuit, it assumes the stream holds only token embeddings, here on both sides:
# positions, and whatever layer 0 wrote, are left out.

# %% nbgrader={"grade": false, "grade_id": "full_qk_circuit", "locked": false, "schema_version": 3, "solution": true, "task": false}
def full_qk_circuit(model, layer, head):
    ### BEGIN SOLUTION
    return FactoredMatrix(model.W_E @ model.W_Q[layer, head], model.W_K[layer, head].T @ model.W_E.T)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_full_qk_circuit", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
_qk = full_qk_circuit(model, 0, 1)
assert isinstance(_qk, FactoredMatrix), "return a FactoredMatrix"
_dense = _qk.AB
assert tuple(_dense.shape) == (64, 64), f"expected (64, 64), got {tuple(_dense.shape)}"
assert torch.allclose(_dense, model.W_E @ model.W_Q[0, 1] @ model.W_K[0, 1].T @ model.W_E.T, atol=1e-3), \
    "the full QK circuit is W_E W_Q W_K^T W_E^T"
print("full_qk_circuit passed the visible test")
### BEGIN HIDDEN TESTS
def _check_full_qk_circuit():
    small = make_model(seed=4, n_layers=3, n_heads=2, d_head=8, d_vocab=20)
    got = full_qk_circuit(small, 2, 1)
    assert isinstance(got, FactoredMatrix), "return a FactoredMatrix"
    got = got.AB
    expected = small.W_E @ small.W_Q[2, 1] @ small.W_K[2, 1].T @ small.W_E.T
    assert torch.allclose(got, expected, atol=1e-4), "wrong matrix for layer 2, head 1 of a 3-layer model"
_check_full_qk_circuit()
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "code_qk_accuracy_per_head", "locked": true, "schema_version": 3, "solution": false, "task": false}
for layer in range(2):
    scores = [top1_diagonal_accuracy(full_qk_circuit(model, layer, head)) for head in range(4)]
    print(f"layer {layer} QK top-1 diagonal accuracy per head:", [round(s, 2) for s in scores])
diagonal_rows = lambda m: (m.AB.argmax(-1) == torch.arange(64, device=device)).nonzero().flatten().tolist()
print("L0H3's rows that peak on the diagonal: in the OV circuit", diagonal_rows(full_ov_circuit(model, 0, 3)),
      "| in the QK circuit", diagonal_rows(full_qk_circuit(model, 0, 3)))


# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_qk_accuracy_per_head", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** low values everywhere: 0 to 0.05 in layer 0, and at most 0.12 in layer 1,
# where a head that looks for its own token would score 1.00. (L0H3's 0.05 is in both tables
# by coincidence: 3 rows of 64 in each, and different rows.)
#
# That low score is what induction predicts. At a query holding A, an induction head does
# not look for another A: it looks for the position *after* an earlier A, which holds B. What
# marks that position is its *previous* token, and a key built from token embeddings alone
# does not contain it. Layer 0 has to put it there, and this circuit leaves layer 0 out.
#
# ## 3 · Attention from positions: the previous-token head
#
# Layer-0 heads see only embeddings: their stream is exactly $W_E[t] + W_{pos}[p]$, so a
# layer-0 score splits into four parts, position with position, token with token, and two
# cross terms. Keep the first and leave the token terms out: queries $W_{pos} W_Q + b_Q$ and
# keys $W_{pos} W_K + b_K$ give a position-to-position pattern, what the head does whatever
# the tokens are. This is an approximation; after the exercise we measure what it misses.
#
# ### Exercise 4 ★★ · `positional_attention`
#
# Write `positional_attention(model, layer, head)`: with $q = W_{pos} W_Q + b_Q$ and
# $k = W_{pos} W_K + b_K$ for that head, the scores $q k^\top / \sqrt{d_{head}}$, with every
# key after its query masked out (set to $-\infty$) and a softmax over keys. Return the
# `[n_ctx, n_ctx]` pattern.
#
# *Hints:* `model.b_Q[layer, head]` has shape `[d_head]`;
# `torch.ones(n, n, dtype=torch.bool, device=scores.device).triu(1)` marks the future (made on
# the scores' device, so it works on a GPU too); `masked_fill` then `softmax(-1)`.

# %% nbgrader={"grade": false, "grade_id": "positional_attention", "locked": false, "schema_version": 3, "solution": true, "task": false}
def positional_attention(model, layer, head):
    ### BEGIN SOLUTION
    q = model.W_pos @ model.W_Q[layer, head] + model.b_Q[layer, head]
    k = model.W_pos @ model.W_K[layer, head] + model.b_K[layer, head]
    scores = q @ k.T / math.sqrt(model.cfg.d_head)
    future = torch.ones_like(scores, dtype=torch.bool).triu(1)
    return scores.masked_fill(future, float("-inf")).softmax(-1)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_positional_attention", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
_pattern = positional_attention(model, 0, 1)
assert tuple(_pattern.shape) == (50, 50), f"expected (n_ctx, n_ctx) = (50, 50), got {tuple(_pattern.shape)}"
assert torch.allclose(_pattern.sum(-1), torch.ones(50, device=_pattern.device), atol=1e-4), "each row is a distribution over keys"
assert _pattern.triu(1).abs().max() < 1e-6, "a query must not attend to later positions"
_row = _pattern[3, :4].cpu()
assert torch.allclose(_row, torch.tensor([0.0211, 0.0, 0.9789, 0.0]), atol=2e-3), \
    f"row 3 of L0H1's pattern should be about [0.021, 0.000, 0.979, 0.000], got {[round(x, 3) for x in _row.tolist()]}: check the biases and the 1/sqrt(d_head) scaling"
print("positional_attention passed the visible test")
### BEGIN HIDDEN TESTS
def _check_positional_attention():
    small = make_model(seed=9, n_layers=2, n_heads=2, d_head=8, n_ctx=12)
    with torch.no_grad():
        for p in small.original_model.parameters():
            p.add_(0.3 * torch.randn_like(p))  # make the biases matter
    got = positional_attention(small, 1, 1)
    q = small.W_pos @ small.W_Q[1, 1] + small.b_Q[1, 1]
    k = small.W_pos @ small.W_K[1, 1] + small.b_K[1, 1]
    s = q @ k.T / math.sqrt(8)
    s = s + torch.full_like(s, float("-inf")).triu(1)
    expected = s.softmax(-1)
    assert tuple(got.shape) == (12, 12), f"expected (n_ctx, n_ctx) = (12, 12), got {tuple(got.shape)}"
    assert torch.allclose(got, expected, atol=1e-5), \
        "expected softmax((W_pos W_Q + b_Q)(W_pos W_K + b_K)^T / sqrt(d_head)), causally masked"
_check_positional_attention()
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "code_positional_patterns", "locked": true, "schema_version": 3, "solution": false, "task": false}
fig, axes = plt.subplots(1, 4, figsize=(16, 4))
for head, ax in enumerate(axes):
    pattern = positional_attention(model, 0, head)
    ax.imshow(pattern.cpu(), cmap="Blues", vmin=0, vmax=1)
    ax.set(title=f"L0H{head}: mean attention to p-1 = {pattern.diagonal(-1).mean():.2f}",
           xlabel="key position", ylabel="query position")
    print(f"L0H{head} from positions alone: mean attention to p-1 {pattern.diagonal(-1).mean():.2f}, "
          f"to p-2 {pattern.diagonal(-2).mean():.2f}")
fig.tight_layout()

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_positional_patterns", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** L0H1 attend to the position just before the query, a clean line one
# below the diagonal (mean 0.97), from positions alone. (The last query, position 49, is
# the exception you may spot in the plot: no training sequence ever asks position 49 for a
# prediction, since it has no next token, so its position embedding was never trained.) That is the **previous-token
# head**. Its OV circuit does not predict anything (section 1): it writes "the token before
# me was $s$" into each position's stream for later heads to read. L0H0 looks about two
# positions back early in the context (about half its attention, 0.32 on average over all
# queries) and spreads out later; L0H2 and L0H3
# spread their attention over many positions.
#
# How much do the token terms we left out change? Run the model on random tokens (no
# repeats) and compare each head's real layer-0 pattern with its positional one. Then ask
# whether the key's token matters: the attention a key receives, relative to an even spread
# over the keys its query can see, averaged by the key's token (1 = no preference).

# %% nbgrader={"grade": false, "grade_id": "code_positional_vs_real", "locked": true, "schema_version": 3, "solution": false, "task": false}
random_tokens = torch.randint(0, 64, (256, 50), generator=torch.Generator().manual_seed(0)).to(device)
_, random_cache = model.run_with_cache(random_tokens)
visible = torch.ones(50, 50, dtype=torch.bool, device=device).tril()
key_token = random_tokens[:, None, :].expand(-1, 50, -1)[:, visible].flatten()
for head in range(4):
    real = random_cache["pattern", 0][:, head]                      # [batch, query, key]
    positional = positional_attention(model, 0, head)
    misplaced = (real - positional).abs().sum(-1).mean() / 2        # attention not where positions put it
    relative = (real * torch.arange(1, 51, device=device)[:, None])[:, visible].flatten()  # 1 = an even share
    by_token = torch.zeros(64, device=device).index_add_(0, key_token, relative) / torch.bincount(key_token, minlength=64)
    print(f"L0H{head}: attention to p-1 {real.diagonal(-1, dim1=-2, dim2=-1).mean():.2f} on random tokens "
          f"({positional.diagonal(-1).mean():.2f} from positions) | misplaced {misplaced:.2f} | "
          f"by key token {by_token.min():.1f}x to {by_token.max():.1f}x, most: {token_labels(by_token.topk(3).indices)}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_positional_vs_real", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** the approximation hold for L0H1: 0.96 to p-1 on random tokens against
# 0.97 from positions, with 0.01 of its attention misplaced and almost no preference for any
# key token (0.9x to 1.2x). It holds less well for L0H0 (0.14 misplaced) and fails for the
# other two: L0H2 misplaces 0.35 of its attention and L0H3 0.50. They pick keys by their
# tokens: L0H3 gives some tokens (the three it likes most are printed) 4.6 times an even
# share and others 0.2 times. Whether the model needs that is a question for ablation:
# notebook 6 removes each head and measures what it costs.
#
# ## 4 · Composition
#
# Now the pieces fit. A layer-1 head can read, at a key position, what L0H1 wrote there:
# the *previous* token. Its query holds the *current* token. If its QK circuit matches
# "current token" against "previous token at the key", it attends to the position right
# after an earlier copy of the current token, and its OV circuit copies the token found
# there: induction.

# %% nbgrader={"grade": false, "grade_id": "code_circuit_diagram", "locked": true, "schema_version": 3, "solution": false, "task": false}
draw_induction_circuit();

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_composition", "locked": true, "schema_version": 3, "solution": false, "task": false}
# A later head can read an earlier head's output in three places:
# - **K-composition**: in its keys (where it looks is decided by what the earlier head wrote
#   *at the key*). This is the induction mechanism.
# - **Q-composition**: in its queries (what it looks *for* depends on what was written at the
#   query).
# - **V-composition**: in its values (what it copies is what the earlier head wrote).
#
# Q-composition cannot replace K-composition here. The query already knows its own token;
# the missing fact, "which position comes right after an $s$?", lives at the *key*
# position, and only a head attending from that key to the one before it can put it there.
# That is why induction needs two layers, and why the previous-token head is essential.
#
# We can check the idea directly: replace the keys' token embeddings with what L0H1 writes
# from the token before, $W_E W_{OV}^{0,1}$, and score queries against them:

# %% nbgrader={"grade": false, "grade_id": "code_k_composition_by_hand", "locked": true, "schema_version": 3, "solution": false, "task": false}
previous_token_written = model.W_E @ model.OV[0, 1].AB  # what L0H1 adds one position later
for head in range(4):
    composed = (model.W_E @ model.W_Q[1, head]) @ (previous_token_written @ model.W_K[1, head]).T
    print(f"L1H{head}: query token vs previous token at the key, top-1 diagonal accuracy "
          f"{top1_diagonal_accuracy(composed):.2f}")


# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_k_composition_by_hand", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** 1.00 for every layer-1 head: each one matches its current token
# exactly against the previous token that L0H1 wrote at the key. The direct QK circuit
# (section 2) could not show this because it skipped layer 0.
#
# ### Exercise 5 ★ · `composition_score`
#
# How strongly does one matrix read what another writes, in general? Elhage et al. (2021,
# in the references at the end) measure it with
# $$\text{score}(W_A, W_B) = \frac{\lVert W_A W_B \rVert_F}{\lVert W_A \rVert_F\,\lVert W_B \rVert_F},$$
# where $\lVert\cdot\rVert_F$ is the Frobenius norm (the square root of the sum of squared
# entries): near 0 when $W_B$ ignores the subspace $W_A$ writes to, larger when it reads it.
# Write `composition_score(W_A, W_B)` for two tensors, returning a float.
#
# *Hint:* `torch.linalg.norm(M)` of a matrix is its Frobenius norm.

# %% nbgrader={"grade": false, "grade_id": "composition_score", "locked": false, "schema_version": 3, "solution": true, "task": false}
def composition_score(W_A, W_B):
    ### BEGIN SOLUTION
    return (torch.linalg.norm(W_A @ W_B) / (torch.linalg.norm(W_A) * torch.linalg.norm(W_B))).item()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_composition_score", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert abs(float(composition_score(torch.eye(4), torch.eye(4))) - 0.5) < 1e-6, "for I (4 x 4): 2 / (2 * 2) = 0.5"
_a, _b = torch.diag(torch.tensor([1.0, 0.0])), torch.eye(2)
assert abs(float(composition_score(_a, _b)) - 1 / math.sqrt(2)) < 1e-6, \
    f"for diag(1, 0) and I (2 x 2): 1 / (1 * sqrt 2) = 0.707, got {float(composition_score(_a, _b)):.3f}"
print("composition_score passed the visible test")
### BEGIN HIDDEN TESTS
def _check_composition_score():
    writes_first = torch.zeros(6, 6); writes_first[0, 0] = 1.0
    reads_second = torch.zeros(6, 6); reads_second[1, 1] = 1.0
    assert abs(float(composition_score(writes_first, reads_second))) < 1e-6, "orthogonal subspaces score 0"
    g = torch.Generator().manual_seed(0)
    a, c = torch.randn(5, 7, generator=g), torch.randn(7, 3, generator=g)
    expected = (a @ c).norm() / (a.norm() * c.norm())
    assert abs(float(composition_score(a, c)) - expected.item()) < 1e-5, "works on non-square matrices"
    assert abs(float(composition_score(3 * a, 0.5 * c)) - expected.item()) < 1e-5, "the score ignores scale"
_check_composition_score()
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "code_composition_two_pairs", "locked": true, "schema_version": 3, "solution": false, "task": false}
print(f"L0H1 writes, L1H2's keys read: {composition_score(model.OV[0, 1].AB, model.QK[1, 2].AB.T):.3f}")
print(f"L0H3 writes, L1H2's keys read: {composition_score(model.OV[0, 3].AB, model.QK[1, 2].AB.T):.3f}")


# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_composition_two_pairs", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** 0.22 for the previous-token head L0H1 and 0.10 for L0H3. Is 0.22 a lot?
# The next exercise computes every pair, and a baseline to compare with.
#
# ### Exercise 6 ★★ · `k_composition_scores`
#
# Write `k_composition_scores(model)`: a `[n_heads, n_heads]` tensor whose entry `[i, j]` is
# the K-composition score of layer-1 head `i` with layer-0 head `j`, using
# $W_A = W_{OV}$ of layer-0 head $j$ (what it writes) and $W_B = W_{QK}^\top$ of layer-1 head
# $i$ (how its keys read the stream).
#
# Why the transpose: the score $x_q W_{QK} x_k^\top$ is a number, so it equals its own
# transpose, $x_k W_{QK}^\top x_q^\top$. Seen from the key, the stream $x_k$ (a row vector)
# is multiplied by $W_{QK}^\top$. If layer-0 head $j$ wrote $y\,W_{OV}$ into $x_k$, the score
# gains $y\,W_{OV} W_{QK}^\top x_q^\top$: the product that decides how much the key reads is
# $W_{OV} W_{QK}^\top$. (Q-composition, reading at the query, would use $W_{OV} W_{QK}$.)
#
# *Hint:* `model.OV[0, j].AB` and `model.QK[1, i].AB.T` are the dense 64 x 64 matrices;
# reuse `composition_score`. Take the number of heads from `model.cfg.n_heads`: the grader
# also tries a model with 3 heads per layer.

# %% nbgrader={"grade": false, "grade_id": "k_composition_scores", "locked": false, "schema_version": 3, "solution": true, "task": false}
def k_composition_scores(model):
    ### BEGIN SOLUTION
    n_heads = model.cfg.n_heads
    scores = torch.zeros(n_heads, n_heads)
    for i in range(n_heads):
        for j in range(n_heads):
            scores[i, j] = composition_score(model.OV[0, j].AB, model.QK[1, i].AB.T)
    return scores
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_k_composition_scores", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
def _reference_composition_score(W_A, W_B):
    # Graded with this in place of the learner's composition_score: one mistake costs once.
    return ((W_A @ W_B).norm() / (W_A.norm() * W_B.norm())).item()
_learner_composition_score = globals().get("composition_score")
composition_score = _reference_composition_score
### END HIDDEN TESTS
_k = torch.as_tensor(k_composition_scores(model)).float().cpu()
assert tuple(_k.shape) == (4, 4), f"expected [layer-1 head, layer-0 head] = (4, 4), got {tuple(_k.shape)}"
_library = model.all_composition_scores("K")[0, :, 1, :].T.float().cpu()  # TransformerLens's own
assert torch.allclose(_k, _library, atol=1e-4), "entry [i, j] should be score(OV of L0Hj, QK^T of L1Hi)"
print("k_composition_scores passed the visible test")
### BEGIN HIDDEN TESTS
def _check_k_composition():
    small = make_model(seed=11, n_heads=3, d_head=8)
    got = torch.as_tensor(k_composition_scores(small)).float()
    assert tuple(got.shape) == (3, 3), f"a model with 3 heads per layer: expected (3, 3), got {tuple(got.shape)}"
    for i in range(3):
        for j in range(3):
            a = small.W_V[0, j] @ small.W_O[0, j]
            bq = (small.W_Q[1, i] @ small.W_K[1, i].T).T
            expected = ((a @ bq).norm() / (a.norm() * bq.norm())).item()
            assert abs(got[i, j].item() - expected) < 1e-4, f"entry [{i}, {j}] should score L0H{j}'s OV against L1H{i}'s QK^T"
_check_k_composition()
composition_score = _learner_composition_score
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "code_k_scores_vs_random", "locked": true, "schema_version": 3, "solution": false, "task": false}
k_scores = torch.as_tensor(k_composition_scores(model)).float()
# What unrelated matrices of the same shape and rank score: the baseline to beat. The
# same formula on 200 random pairs at once (matrix_norm takes each matrix's Frobenius norm).
g = torch.Generator().manual_seed(0)
def random_rank_16(n):
    return torch.randn(n, 64, 16, generator=g) @ torch.randn(n, 16, 64, generator=g)
A, B = random_rank_16(200), random_rank_16(200)
norm = torch.linalg.matrix_norm
baseline = (norm(A @ B) / (norm(A) * norm(B))).mean().item()
print(f"random baseline: {baseline:.3f}")
ratio = k_scores / baseline
for j in range(4):
    print(f"L0H{j} column: scores {k_scores[:, j].min():.2f} to {k_scores[:, j].max():.2f}, "
          f"{ratio[:, j].min():.2f} to {ratio[:, j].max():.2f} times the baseline")
for i in range(4):
    print(f"L1H{i} reads the layer-0 heads in this order:", " > ".join(f"L0H{j}" for j in k_scores[i].argsort(descending=True).tolist()))
plt.figure(figsize=(5, 4))
plt.imshow(ratio, cmap="RdBu_r", vmin=0, vmax=2)
plt.xticks(range(4), [f"L0H{j}" for j in range(4)]); plt.yticks(range(4), [f"L1H{i}" for i in range(4)])
plt.title("K-composition (colour: score / random baseline)"); plt.colorbar(label="score / baseline")
for i in range(4):
    for j in range(4):
        plt.text(j, i, f"{k_scores[i, j]:.2f}", ha="center", va="center")

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_k_scores_vs_random", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** a random baseline of 0.124, and for every layer-1 head the L0H1 column
# (the previous-token head) highest and L0H0 second. L0H1 scores 0.18 to 0.22, 1.45 to 1.75
# times the baseline (the ratios come from the unrounded scores, so dividing the rounded
# figures printed here gives slightly different ones). L0H0, the head that looks two back, scores 0.16 to 0.19 (1.30 to
# 1.49 times); L0H2 and L0H3 sit below the baseline (0.78 to 0.94 times).
#
# Why is chance about 0.125? It is $1/\sqrt{64}$, one over the square root of the stream's
# width. Two random directions in $d$ dimensions have a cosine of about $1/\sqrt{d}$, and the
# composition score measures the same kind of overlap, between the directions $W_A$ writes
# and those $W_B$ reads. (In detail: when $W_B$'s directions are random,
# $\lVert W_A W_B \rVert_F^2$ averages $\lVert W_A \rVert_F^2 \lVert W_B \rVert_F^2 / d$,
# whatever the ranks.) The same baseline for streams of other widths:

# %% nbgrader={"grade": false, "grade_id": "code_baseline_by_width", "locked": true, "schema_version": 3, "solution": false, "task": false}
for width in (16, 64, 256):
    g_width = torch.Generator().manual_seed(0)
    A_w = torch.randn(200, width, 16, generator=g_width) @ torch.randn(200, 16, width, generator=g_width)
    B_w = torch.randn(200, width, 16, generator=g_width) @ torch.randn(200, 16, width, generator=g_width)
    print(f"d_model {width:3d}: random baseline {(norm(A_w @ B_w) / (norm(A_w) * norm(B_w))).mean():.3f}, "
          f"1/sqrt(d_model) = {1 / math.sqrt(width):.3f}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_baseline_by_width", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** the baseline follow $1/\sqrt{d_{model}}$: 0.249, 0.124 and 0.062 against
# 0.250, 0.125 and 0.062 (the score is the square root of an average, so it falls a little
# below).
#
# Why does L0H0 score so close to L0H1? First, does an induction head match L0H0's output at
# a key against its own token, as it does L0H1's? The cell below tries that, then a second
# pairing:
# the token before the query (what L0H1 writes at the query, read through $W_Q$:
# Q-composition) against L0H0's output at the key (read through $W_K$: K-composition). At the
# right key, the position after an earlier A, the token two back is the token before that A,
# which is also the token before the query.

# %% nbgrader={"grade": false, "grade_id": "code_two_back_head", "locked": true, "schema_version": 3, "solution": false, "task": false}
two_back_written = model.W_E @ model.OV[0, 0].AB  # what L0H0 writes when it attends to each token
for head in range(4):
    own_token = (model.W_E @ model.W_Q[1, head]) @ (two_back_written @ model.W_K[1, head]).T
    token_before = (previous_token_written @ model.W_Q[1, head]) @ (two_back_written @ model.W_K[1, head]).T
    print(f"L1H{head}, L0H0's output at the key against: the query's own token {top1_diagonal_accuracy(own_token):.2f}, "
          f"the token before the query {top1_diagonal_accuracy(token_before):.2f}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_two_back_head", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** at most 0.09 against the query's own token, and 0.88 to 0.95 against
# the token before the query. So L0H0 is part of the circuit, as a second check: the
# induction heads compare two tokens of context, not one. That tells apart two earlier
# copies of the current token, which one token of context cannot (notebook 3's training data
# repeats tokens within a block on purpose; notebook 6 measures what removing L0H0 costs). The main match is still the K-composition with L0H1: its column scores
# highest, and its composed circuit is a perfect 1.00.
#
# Composition scores are blunt: they compare whole subspaces, so even the real circuit
# stands less than 2x above chance, while the composed QK circuit above was a perfect 1.00.
# Use the scores to find candidates, and targeted checks like these (and, later in the
# course, ablations) to confirm them.
#
# ## 5 · Extra: GPT-2 small's induction head 5.5 (needs internet)
#
# The same OV reading on a real model. The full OV circuit is 50257 x 50257, far too large to
# form, so take 1000 random token ids and form only their rows, from the factors.

# %% nbgrader={"grade": false, "grade_id": "code_gpt2_circuits", "locked": true, "schema_version": 3, "solution": false, "task": false}
gpt2 = load_gpt2(device)
if gpt2 is not None:
    gpt2_ov = full_ov_circuit(gpt2, 5, 5)
    sample = torch.randperm(gpt2.cfg.d_vocab, generator=torch.Generator().manual_seed(0))[:1000].to(gpt2_ov.A.device)
    rows = gpt2_ov.A[sample] @ gpt2_ov.B  # [1000, d_vocab]
    print(f"GPT-2 head 5.5: the attended token is the top output for "
          f"{(rows.argmax(-1) == sample).float().mean():.0%} of 1000 sampled tokens")

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_about_written_composition", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **What to look for** (with internet; the course's tests run offline, so this section
# promises no number): a fraction far above chance, which is 1 in 50257 for a row's largest
# entry to land on the attended token. A copying head puts the attended token first for a
# large share of the sampled tokens.
#
# ### Written question (graded by hand)
#
# Why can't a single attention head, or a layer-1 head whose keys read only token
# embeddings, implement induction? Use the QK results of sections 2 and 4 in your answer.
# ### BEGIN MARK SCHEME
# **Marking guide (2 points, graders only).**
#
# *Model answer.* Induction must attend to the position right after an earlier copy of the
# current token, and what identifies that position is its *previous* token. A key built from
# embeddings holds only its own token and position, so such a head can at best match the
# current token against the key's own token (a duplicate-token head): the direct QK circuit
# of the layer-1 heads is far from diagonal (top-1 diagonal accuracy 0.12 at most,
# section 2). A layer-0 previous-token head (L0H1) first writes each token into the next
# position; the layer-1 keys read it (K-composition), and that composed QK circuit is
# exactly diagonal (1.00 for every layer-1 head, section 4). One head cannot both move the
# previous token and look for it, so induction needs two heads in two layers.
#
# *Rubric.*
# - 1 point: the target is identified by its previous token, which an embedding-only key
#   does not contain (at most a duplicate-token match), backed by section 2's low direct QK
#   diagonal accuracy (0.12 at most).
# - 1 point: an earlier head (the previous-token head L0H1) must first move the previous
#   token into the key position and the layer-1 keys read it, i.e. K-composition, backed by
#   section 4's composed QK circuit at 1.00.
# - The question asks for the QK results: the right idea without its number earns half of
#   that point. Q- or V-composition as the mechanism, or "one head has too little capacity",
#   earns nothing for the second point.
# ### END MARK SCHEME

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_composition", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# See the model answer in the marking guide of the question above.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_recap", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Recap
#
# - Each head is a QK circuit, $W_Q W_K^\top$, where it looks, and an OV circuit,
#   $W_V W_O$, what it moves. Wrap them in the embedding and unembedding to read them in
#   tokens: the direct path, an approximation that is good for the toy model's layer-1 heads.
#   `FactoredMatrix` keeps these low-rank products cheap.
# - The toy model's layer-1 heads copy (diagonal full OV circuits; together they copy every
#   token). Its L0H1 attends to the previous position from positions alone.
# - The induction heads' keys read L0H1's output: K-composition. Composition scores show
#   it above a random baseline of about $1/\sqrt{d_{model}}$; the composed QK circuit shows it
#   exactly. L0H0 adds a second check on the token before.
#
# Next, in notebook 3, you train such a model yourself, and meet a model that gets the same
# loss with no circuit at all.
#
# ### Recap questions (auto-graded)
#
# 1. `recap_max_rank`: the largest possible rank of a head's $W_{OV}$ in this model.
# 2. `recap_previous_token_head`: the head number (0 to 3) of the toy model's layer-0
#    previous-token head.
# 3. `recap_composition`: which kind of composition makes induction work: `"Q"`, `"K"` or `"V"`?

# %% nbgrader={"grade": false, "grade_id": "recap_answers", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
recap_max_rank = 16
recap_previous_token_head = 1
recap_composition = "K"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_recap", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
assert all(isinstance(x, (int, float)) and float(x).is_integer() for x in (recap_max_rank, recap_previous_token_head)), \
    "recap 1 and 2 are whole numbers"
assert recap_composition in ("Q", "K", "V"), 'recap 3 is one of "Q", "K" or "V"'
print("recap answers have the right types (the grader checks their values)")
### BEGIN HIDDEN TESTS
assert recap_max_rank == 16, "recap 1: W_V is d_model x d_head"
assert recap_previous_token_head == 1, "recap 2: see the positional patterns"
assert recap_composition == "K", "recap 3: the previous token is needed at the key"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_references", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## References
#
# - N. Elhage, N. Nanda, C. Olsson, et al. (2021). *A Mathematical Framework for Transformer
#   Circuits.* Transformer Circuits Thread.
#   https://transformer-circuits.pub/2021/framework/index.html (QK and OV circuits,
#   Q-, K- and V-composition, composition scores, the eigenvalue copying score.)
# - C. Olsson, N. Elhage, N. Nanda, et al. (2022). *In-context Learning and Induction Heads.*
#   Transformer Circuits Thread, arXiv:2209.11895.
#   https://transformer-circuits.pub/2022/in-context-learning-and-induction-heads/index.html
# - TransformerLens: https://github.com/TransformerLensOrg/TransformerLens
