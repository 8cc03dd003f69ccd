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
# # 4 · Finding heads by their attention
#
# In notebook 3 you trained a model and watched two kinds of head appear. Here you make that
# observation precise. You will turn "this head looks one token back" and "this head looks
# just after the earlier copy of the current token" into numbers, compute them for every
# head, and pick heads out by threshold. Then you will test the numbers themselves, and find
# out where they can mislead you.
#
# **Time:** about 80 minutes if transformer internals are new to you. **Runs in:** under a
# minute on a laptop CPU.
#
# **By the end you will**
# - derive, not memorise, where each kind of head puts its attention on a repeated sequence,
#   with and without a beginning-of-sequence token;
# - write the previous-token, duplicate-token and induction scores for patterns of any
#   batch shape, and score every head of your model;
# - show that the positional-shortcut model of notebook 3 scores *higher* than a real
#   induction head on 25+25, and find the test that tells them apart;
# - compare your scores with TransformerLens's `head_detector` and explain why its numbers
#   differ;
# - explain why one of your induction heads ignores short repeats;
# - (with internet) find GPT-2 small's induction heads.
#
# **Exercises:** five to code (★ short, ★★ needs some thought), one written answer (graded
# by your instructor), three recap questions. Each coded exercise is followed by a test
# cell; the grader runs further, hidden tests on the same function, so make it correct in
# general, not just for the visible test.

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_prerequisites", "locked": true, "schema_version": 3, "solution": false, "task": false}
# > **What you need from earlier notebooks.** The cells below load everything this notebook
# > uses; here is what the names mean, and where each idea is taught in full.
# >
# > - **The task** (notebook 3). An $n+n$ sequence is a random block of $n$ tokens followed
# >   by the same $n$ tokens again; 25+25 fills the model's 50 positions. From the start of
# >   the repeat, every next token can be copied from the first copy. `periodic_tokens(batch,
# >   n, 2 * n)` draws such sequences, and `token_labels` prints token ids as short labels
# >   (`ba`, `be`, ...).
# > - **The models** (notebooks 1 and 3). Both have 2 layers of 4 attention heads, attention
# >   only, no LayerNorm, a vocabulary of 64 and a context of 50; heads are named by layer
# >   and number (L0H1 is head 1 of layer 0). `model` was trained on repeats of varied period
# >   and carries a genuine induction circuit: it is yours from notebook 3 or, if notebook 3
# >   has not saved one on this machine, the shipped model trained the same way from the same
# >   seed. (If notebook 3 saved a model that never learned, say because its training was cut
# >   short or its exercises were left undone, the loading cell finds no circuit in it, warns
# >   you in one line, and uses the shipped model; train again in notebook 3 to use yours.)
# >   `shortcut_model` was trained on 25+25 only and took a positional shortcut: every
# >   layer-0 head attends 24 positions back, whatever the tokens (notebook 3, section 5).
# > - **The circuit** (notebook 2). A *previous-token head* in layer 0 writes into each
# >   position the token just before it. An *induction head* in layer 1, at a token A, looks
# >   for the position whose previous token was A, the position just after an earlier A, and
# >   copies the token it finds there: the prediction.
# > - **Attention patterns**: section 1 recalls what they are (notebook 3, section 4, has a
# >   longer primer).
# >
# > The second cell below loads the two models:
# > ```python
# > model = load_trained_model(device)  # yours from notebook 3, or the shipped one
# > shortcut_model = load_checkpoint(SHIPPED_CHECKPOINTS["shortcut"], device)
# > ```

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_before_start", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Before you start.** The first code cell, just below the Colab badge, installs the course toolkit,
# `induction_circuits`, if it is missing: on Colab run it first, and it takes about a minute
# (it keeps Colab's own torch); on your own machine `make lab` (see the README) has installed
# it already, and the cell does nothing. Then run the next cell: it imports what this notebook uses, prints
# one line naming the device you run on (GPU or CPU), and loads the two models, saying which
# trained model it found. Nothing here needs a GPU.
# This course runs on TransformerLens 4 and its `TransformerBridge`: tutorials written for the
# older `HookedTransformer` need the 4.x names to run (notebook 1 says which).

# %% nbgrader={"grade": false, "grade_id": "code_setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import torch

from induction_circuits.data import periodic_tokens, token_labels
from induction_circuits.model import SHIPPED_CHECKPOINTS, load_checkpoint, load_trained_model
from induction_circuits.plotting import head_names, plot_head_scores
from induction_circuits.setup import load_gpt2, start

torch.set_grad_enabled(False)  # nothing is trained here: we only read attention
device = start()
model = load_trained_model(device)  # yours from notebook 3, or the shipped one
shortcut_model = load_checkpoint(SHIPPED_CHECKPOINTS["shortcut"], device)  # notebook 3's 25+25-only model

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_where_heads_look", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1 · Where each kind of head looks
#
# **Attention in brief.** At each position $q$ a head compares its query with the key of
# every position $k \le q$ (later positions are masked out: the model cannot look ahead),
# scales the scores by $1/\sqrt{d_\text{head}}$ and turns them into weights that sum to 1
# with a softmax. It then adds the weighted mix of those positions' values to the residual
# stream at $q$, the running sum that every head reads from and adds to. The weights of
# every query form the head's **attention pattern**: row $q$ says how much position $q$
# takes from each earlier position. TransformerLens caches it as `cache["pattern", layer]`,
# shape `[batch, head, q, k]`, and everything in this notebook is computed from it.
#
# Each row of a pattern is a probability distribution over the keys $k \le q$. We store a
# pattern as `pattern[..., q, k]`: the last two dimensions
# are query and key, and anything before them (batch, head, layer) is just bookkeeping.
#
# A head that follows a fixed rule puts its attention on one **diagonal** of this matrix,
# the set of entries with the same offset $k - q$:
#
# - A **previous-token head** attends from $q$ to $q - 1$: offset $-1$, for every query
#   except the first.
# - Now take a repeated sequence: a random block of $n$ tokens $t_0 \dots t_{n-1}$, then the
#   same block again, $2n$ positions in all. Position $q = n + i$ of the repeat holds $t_i$,
#   whose earlier copy sits at $i = q - n$. A **duplicate-token head** attends there: offset
#   $-n$.
# - An **induction head** attends to the token that *followed* the earlier copy, at
#   $i + 1 = q - n + 1$, because that token is what comes next: offset $-(n - 1)$. On
#   25+25 that is $-24$.
#
# The last two rules only make sense for queries in the repeat, the **last $n$
# positions**; the first half has no earlier copy to find.
#
# **What a BOS token changes.** Models like GPT-2 are usually run with a beginning-of-sequence
# token at position 0. Every position then moves up by one, both copies together, so the
# offsets stay exactly the same; only the repeat now occupies positions $n + 1 \dots 2n$.
# "The last $n$ queries" still picks exactly the repeat. The same holds for *any* prefix of
# unrelated tokens before the repeated block, which is why the functions below take the last
# `half_len` queries instead of hard-coding positions.
#
# `torch.diagonal(pattern, offset=d, dim1=-2, dim2=-1)` returns the entries
# `pattern[..., q, q + d]` for every query where that key exists (for $d < 0$, queries
# $-d, -d + 1, \dots$ in order) as the last dimension, keeping the leading dimensions.
#
# Let's look at one head of each kind on a short 6+6 sequence first:

# %% nbgrader={"grade": false, "grade_id": "code_example_patterns", "locked": true, "schema_version": 3, "solution": false, "task": false}
import matplotlib.pyplot as plt

short = periodic_tokens(1, 6, 12, generator=torch.Generator().manual_seed(0), device=device)
_, cache = model.run_with_cache(short)
labels = token_labels(short[0])
fig, axes = plt.subplots(1, 2, figsize=(9, 4))
for ax, (layer, head) in zip(axes, [(0, 1), (1, 0)]):
    ax.imshow(cache["pattern", layer][0, head].cpu(), cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(12), labels, rotation=90)
    ax.set_yticks(range(12), labels)
    ax.set(title=f"L{layer}H{head}", xlabel="key", ylabel="query")
fig.tight_layout()
prev, ind = cache["pattern", 0][0, 1], cache["pattern", 1][0, 0]
print(f"L0H1, attention one back, queries 1 to 11: {prev[range(1, 12), range(0, 11)].mean():.2f}")
print(f"L1H0, attention five back, queries 7 to 11: {ind[range(7, 12), range(2, 7)].mean():.2f}; "
      f"query 6: {ind[6, 1]:.2f} five back (key 1), {ind[6, 0]:.2f} on key 0")


# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_example_patterns", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** (with the shipped model, or yours trained from seed 1) L0H1 attending
# one step back on almost every row, and L1H0 attending, from every query of the second half
# but the first, to the key five positions back ($-(6 - 1) = -5$): the token after the
# earlier copy. The printed lines measure both.
#
# The first query of the repeat, row 6, is the exception: L1H0 puts most of its attention on
# key 0, not on key 1. Row 6 holds the sequence's first token, and position 0 has no token
# before it, so L0H1 can only attend to position 0 itself there: key 0 too then carries "the
# token before me was the first token". Two keys match, and this head takes the wrong one.
# Every repeat's first query has this trap, which costs the scores below a little.
#
# (Not every induction head works on such short repeats: L1H2 mostly rests on the first
# token until the period is about 15. Section 2 measures this and shows why. If your model's
# heads are numbered differently, the bar chart in section 2 will show you which ones to
# look at.)
#
# ### Exercise 1 ★ · `prev_token_score`
#
# Write `prev_token_score(pattern)`: for a pattern `[..., q, k]`, the mean attention from each
# query $q \ge 1$ to key $q - 1$. Return a tensor of the leading shape `[...]` (a pattern
# `[layer, batch, head, q, k]` gives `[layer, batch, head]`).

# %% nbgrader={"grade": false, "grade_id": "prev_token_score", "locked": false, "schema_version": 3, "solution": true, "task": false}
def prev_token_score(pattern):
    ### BEGIN SOLUTION
    return torch.diagonal(pattern, offset=-1, dim1=-2, dim2=-1).mean(-1)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_prev_token_score", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
def _causal_random(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    seq = shape[-1]
    logits = torch.randn(*shape, seq, generator=g)
    mask = torch.ones(seq, seq).tril().bool()
    return logits.masked_fill(~mask, float("-inf")).softmax(-1)

def _loop_offset_score(pattern, offset, queries):
    flat = pattern.reshape(-1, *pattern.shape[-2:])
    out = torch.stack([torch.stack([p[q, q + offset] for q in queries]).mean() for p in flat])
    return out.reshape(pattern.shape[:-2])
### END HIDDEN TESTS
_prev = torch.diag(torch.ones(4), -1)[None]  # [1, 5, 5]
_prev[0, 0, 0] = 1.0  # query 0 can only attend to itself
_score = prev_token_score(_prev)
assert tuple(_score.shape) == (1,), f"a [1, 5, 5] pattern should give shape (1,), got {tuple(_score.shape)}"
assert torch.allclose(_score, torch.ones(1)), f"a perfect previous-token pattern scores 1, got {_score.tolist()}"
_self = torch.eye(5)[None]
assert torch.allclose(prev_token_score(_self), torch.zeros(1)), "attending to yourself is not attending one back"
print("prev_token_score passed the visible test")
### BEGIN HIDDEN TESTS
def _check_prev_token_score():
    for shape in [(7,), (3, 9), (2, 4, 6), (2, 3, 2, 11)]:
        pattern = _causal_random(*shape, seed=len(shape))
        seq = shape[-1]
        got = prev_token_score(pattern)
        assert isinstance(got, torch.Tensor) and tuple(got.shape) == tuple(pattern.shape[:-2]), \
            f"a pattern of shape {tuple(pattern.shape)} should give scores of shape {tuple(pattern.shape[:-2])}"
        expected = _loop_offset_score(pattern, -1, range(1, seq))
        assert torch.allclose(got.float(), expected, atol=1e-5), \
            f"on random causal patterns of shape {tuple(pattern.shape)}, expected the mean of pattern[..., q, q-1] over q = 1 .. {seq - 1}"
    uniform = torch.ones(6, 6).tril()
    uniform = uniform / uniform.sum(-1, keepdim=True)
    expected = sum(1 / (q + 1) for q in range(1, 6)) / 5
    assert abs(float(prev_token_score(uniform[None])) - expected) < 1e-5, \
        "uniform causal attention: the query at q gives 1/(q+1) to q-1; average over q >= 1 only"
_check_prev_token_score()
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_about_duplicate_token_score", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### Exercise 2 ★ · `duplicate_token_score`
#
# Write `duplicate_token_score(pattern, half_len)`: the mean attention, over the **last
# `half_len` queries**, to the key `half_len` positions back (the earlier copy of the query's
# own token). Same shapes as before: `[..., q, k]` in, `[...]` out.

# %% nbgrader={"grade": false, "grade_id": "duplicate_token_score", "locked": false, "schema_version": 3, "solution": true, "task": false}
def duplicate_token_score(pattern, half_len):
    ### BEGIN SOLUTION
    return torch.diagonal(pattern, offset=-half_len, dim1=-2, dim2=-1)[..., -half_len:].mean(-1)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_duplicate_token_score", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
_dup = torch.eye(8)
_dup[4:, :4] = torch.eye(4)
_dup[4:, 4:] = 0.0
_score = duplicate_token_score(_dup[None, None], 4)
assert tuple(_score.shape) == (1, 1), f"a [1, 1, 8, 8] pattern should give shape (1, 1), got {tuple(_score.shape)}"
assert torch.allclose(_score, torch.ones(1, 1)), f"a perfect duplicate-token head on 4+4 scores 1, got {_score.tolist()}"
assert torch.allclose(duplicate_token_score(torch.eye(8)[None], 4), torch.zeros(1)), "attending to yourself is not a duplicate match"
_bos = torch.zeros(9, 9)  # a BOS token, then 4 + 4: the repeat is the last 4 queries
_bos[range(5), range(5)] = 1.0
_bos[range(5, 9), range(1, 5)] = 1.0
assert torch.allclose(duplicate_token_score(_bos[None], 4), torch.ones(1)), \
    "with a BOS token in front, score the last half_len queries (the repeat), not the queries after position half_len"
print("duplicate_token_score passed the visible test")
### BEGIN HIDDEN TESTS
def _check_duplicate_token_score():
    for shape, half in [((10,), 5), ((3, 12), 6), ((2, 4, 9), 4), ((2, 2, 3, 21), 10)]:
        pattern = _causal_random(*shape, seed=half)
        seq = shape[-1]
        got = duplicate_token_score(pattern, half)
        assert isinstance(got, torch.Tensor) and tuple(got.shape) == tuple(pattern.shape[:-2]), \
            f"a pattern of shape {tuple(pattern.shape)} should give scores of shape {tuple(pattern.shape[:-2])}"
        expected = _loop_offset_score(pattern, -half, range(seq - half, seq))
        assert torch.allclose(got.float(), expected, atol=1e-5), \
            f"pattern {tuple(pattern.shape)}, half_len {half}: expected the mean of pattern[..., q, q-{half}] over the last {half} queries"
    bos = torch.zeros(1, 9, 9)  # BOS + 4 + 4: the repeat is positions 5..8
    bos[0, range(9), range(9)] = 1.0
    bos[0, range(5, 9)] = 0.0
    bos[0, range(5, 9), range(1, 5)] = 1.0
    assert abs(float(duplicate_token_score(bos, 4)) - 1.0) < 1e-5, \
        "with a BOS token the repeat is still the last half_len queries, and the offset is still -half_len"
_check_duplicate_token_score()
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_about_induction_score", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### Exercise 3 ★ · `induction_score`
#
# Write `induction_score(pattern, half_len)`: the mean attention, over the last `half_len`
# queries, to the key `half_len - 1` positions back.

# %% nbgrader={"grade": false, "grade_id": "induction_score", "locked": false, "schema_version": 3, "solution": true, "task": false}
def induction_score(pattern, half_len):
    ### BEGIN SOLUTION
    return torch.diagonal(pattern, offset=-(half_len - 1), dim1=-2, dim2=-1)[..., -half_len:].mean(-1)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_induction_score", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
_ind = torch.eye(8)
_ind[4:] = 0.0
_ind[range(4, 8), range(1, 5)] = 1.0
_score = induction_score(_ind[None, None, None], 4)
assert tuple(_score.shape) == (1, 1, 1), f"a [1, 1, 1, 8, 8] pattern should give shape (1, 1, 1), got {tuple(_score.shape)}"
assert torch.allclose(_score, torch.ones(1, 1, 1)), f"a perfect induction head on 4+4 scores 1, got {_score.flatten().tolist()}"
_dup_8 = torch.eye(8)
_dup_8[4:] = 0.0
_dup_8[range(4, 8), range(0, 4)] = 1.0
assert torch.allclose(induction_score(_dup_8[None], 4), torch.zeros(1)), "a duplicate-token head is not an induction head"
_prev_8 = torch.diag(torch.ones(7), -1)
_prev_8[0, 0] = 1.0
assert torch.allclose(induction_score(_prev_8[None], 4), torch.zeros(1)), "a previous-token head is not an induction head"
print("induction_score passed the visible test")
### BEGIN HIDDEN TESTS
def _check_induction_score():
    for shape, half in [((10,), 5), ((3, 12), 6), ((2, 4, 9), 4), ((2, 2, 3, 50), 25)]:
        pattern = _causal_random(*shape, seed=half + 1)
        seq = shape[-1]
        got = induction_score(pattern, half)
        assert isinstance(got, torch.Tensor) and tuple(got.shape) == tuple(pattern.shape[:-2]), \
            f"a pattern of shape {tuple(pattern.shape)} should give scores of shape {tuple(pattern.shape[:-2])}"
        expected = _loop_offset_score(pattern, -(half - 1), range(seq - half, seq))
        assert torch.allclose(got.float(), expected, atol=1e-5), \
            f"pattern {tuple(pattern.shape)}, half_len {half}: expected the mean of pattern[..., q, q-{half - 1}] over the last {half} queries"
    prefixed = torch.zeros(2, 13, 13)  # 3 unrelated tokens, then 5 + 5
    prefixed[:, range(13), range(13)] = 1.0
    prefixed[:, 8:] = 0.0
    prefixed[:, range(8, 13), range(4, 9)] = 1.0
    assert torch.allclose(induction_score(prefixed, 5).float(), torch.ones(2)), \
        "after a prefix (or a BOS token) the repeat is the last half_len queries, and the offset is still -(half_len - 1)"
_check_induction_score()
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_every_head", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2 · Every head of your model
#
# TransformerLens caches each layer's pattern as `cache["pattern", layer]`, shape
# `[batch, head, q, k]`. Stack the layers and your three functions score every head at once.
#
# ### Exercise 4 ★★ · `head_scores`
#
# Write `head_scores(model, tokens, half_len)`: run `model` on `tokens` (`[batch, seq]`, with
# the repeated block in the last `2 * half_len` positions), and return a dict with keys
# `"previous"`, `"duplicate"` and `"induction"`, each a tensor `[n_layers, n_heads]` of that
# score averaged over the batch. Use your three functions, and `model.cfg.n_layers` rather
# than a hard-coded 2, so the same function works on GPT-2. The period is an argument for a
# reason you will meet in section 3.
#
# *Hint:* `model.run_with_cache(tokens)` returns `(logits, cache)`; `torch.stack` the layers'
# patterns into `[layer, batch, head, q, k]`, score, then `.mean(1)` over the batch.

# %% nbgrader={"grade": false, "grade_id": "head_scores", "locked": false, "schema_version": 3, "solution": true, "task": false}
def head_scores(model, tokens, half_len):
    ### BEGIN SOLUTION
    _, cache = model.run_with_cache(tokens)
    patterns = torch.stack([cache["pattern", layer] for layer in range(model.cfg.n_layers)])
    return {
        "previous": prev_token_score(patterns).mean(1),
        "duplicate": duplicate_token_score(patterns, half_len).mean(1),
        "induction": induction_score(patterns, half_len).mean(1),
    }
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_head_scores", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
_learner_scores = {name: globals().get(name) for name in ("prev_token_score", "duplicate_token_score", "induction_score")}
def prev_token_score(pattern):
    return torch.diagonal(pattern, offset=-1, dim1=-2, dim2=-1).mean(-1)
def duplicate_token_score(pattern, half_len):
    return torch.diagonal(pattern, offset=-half_len, dim1=-2, dim2=-1)[..., -half_len:].mean(-1)
def induction_score(pattern, half_len):
    return torch.diagonal(pattern, offset=-(half_len - 1), dim1=-2, dim2=-1)[..., -half_len:].mean(-1)
### END HIDDEN TESTS
test_25 = periodic_tokens(64, 25, 50, generator=torch.Generator().manual_seed(1), device=device)
scores = head_scores(model, test_25, 25)
assert set(scores) == {"previous", "duplicate", "induction"}, f"expected the keys previous, duplicate, induction; got {sorted(scores)}"
assert all(tuple(s.shape) == (2, 4) for s in scores.values()), \
    f"each score should be [n_layers, n_heads] = (2, 4), got {[tuple(s.shape) for s in scores.values()]}"
assert scores["previous"][0].max() > 0.8, "your model should have a layer-0 previous-token head"
assert scores["induction"][1].max() > 0.6, "your model should have a layer-1 induction head"
assert scores["induction"].max() < 1.0 + 1e-5 and scores["previous"].min() >= 0, "scores are mean attention weights: between 0 and 1"
print("head_scores passed the visible test")
### BEGIN HIDDEN TESTS
def _check_head_scores():
    from induction_circuits.model import make_model
    for m, half, prefix, batch in [(load_checkpoint(SHIPPED_CHECKPOINTS["induction"], device), 20, 0, 6),
                                   (make_model(seed=3, device=device, n_layers=3, n_heads=2), 7, 5, 3)]:
        g = torch.Generator().manual_seed(half)
        tokens = torch.cat([torch.randint(0, 64, (batch, prefix), generator=g),
                            periodic_tokens(batch, half, 2 * half, generator=g)], 1).to(device)
        _, cache = m.run_with_cache(tokens)
        patterns = torch.stack([cache["pattern", layer] for layer in range(m.cfg.n_layers)])
        expected = {"previous": prev_token_score(patterns).mean(1),
                    "duplicate": duplicate_token_score(patterns, half).mean(1),
                    "induction": induction_score(patterns, half).mean(1)}
        got = head_scores(m, tokens, half)
        assert set(got) == set(expected), f"keys must be {sorted(expected)}"
        for name in expected:
            assert tuple(got[name].shape) == (m.cfg.n_layers, m.cfg.n_heads), \
                f"{name}: a {m.cfg.n_layers}-layer, {m.cfg.n_heads}-head model needs scores of shape {(m.cfg.n_layers, m.cfg.n_heads)}"
            assert torch.allclose(torch.as_tensor(got[name]).float().cpu(), expected[name].cpu(), atol=1e-4), \
                f"{name} scores differ from the scores of the cached patterns averaged over the batch (half_len={half}, {prefix} tokens before the repeat)"
_check_head_scores()
globals().update({name: f for name, f in _learner_scores.items() if f is not None})
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_about_score_table", "locked": true, "schema_version": 3, "solution": false, "task": false}
# Two views of the same numbers: a bar chart, and the table behind it.

# %% nbgrader={"grade": false, "grade_id": "code_score_table", "locked": true, "schema_version": 3, "solution": false, "task": false}
def print_score_table(scores):
    names = list(scores)
    print("head  " + "".join(f"{name:>11}" for name in names))
    for index, head in enumerate(head_names(*scores[names[0]].shape)):
        print(f"{head:6}" + "".join(f"{float(scores[name].flatten()[index]):11.2f}" for name in names))

plot_head_scores(scores, title="your model on 25+25")
print_score_table(scores)

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_score_table", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see**, with the shipped model or yours from seed 1: one layer-0 head with a
# previous-token score near 0.96 (L0H1), the four layer-1 heads with induction scores
# between about 0.75 and 0.91, and every duplicate-token score below 0.1. (Notebook 3's plot
# put L1H2 at about 0.82 rather than 0.91, and the others about where they are here: its
# scores also count the four or so first-half queries per sequence whose token appeared
# earlier by chance. The other heads often look after those chance copies too; L1H2, which
# ignores nearby copies (see below), hardly does, and those queries pull its score down.)
#
# **What the duplicate-token score is for.** It is the induction score's neighbour, one
# diagonal over: a head that attends to the earlier copy of its own token (offset $-n$)
# rather than to the position after it ($-(n-1)$) is a duplicate-token head, and telling
# the two apart takes both scores. Your model has none: its induction heads find the earlier
# copy through what the previous-token head wrote, so no head needs to attend to the copy
# itself. Larger models do have them. In GPT-2 small, Wang et al. (2022) found
# duplicate-token heads in the first layers (heads 0.1, 0.10 and 3.0, written layer.head:
# layer 0's heads 1 and 10, layer 3's head 0) that tell later heads that
# a name has occurred before.
#
# *Wang et al. (2022), [Interpretability in the Wild: a Circuit for Indirect Object
# Identification in GPT-2 small](https://arxiv.org/abs/2211.00593).*
#
# **Why L1H2 ignores short repeats.** Score the four layer-1 heads on repeats of growing
# period with your `head_scores`:

# %% nbgrader={"grade": false, "grade_id": "code_scores_by_period", "locked": true, "schema_version": 3, "solution": false, "task": false}
for n in (5, 10, 15, 20, 25):
    repeats = periodic_tokens(64, n, 2 * n, generator=torch.Generator().manual_seed(n), device=device)
    print(f"{n:2}+{n:<2}: layer-1 induction scores "
          + " ".join(f"{float(x):.2f}" for x in head_scores(model, repeats, n)["induction"][1]))

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_scores_by_period", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** three layer-1 heads that score at every period (about 0.6 to 0.7 on
# 5+5, 0.75 or more from 10+10 on), and L1H2 that does not on short repeats: about 0.15 or
# less on 5+5 and 10+10, about 0.6 on 15+15 and 0.9 on the longer ones.
#
# Why would a head that finds distant copies miss near ones? An attention score is a query
# dotted with a key, and each is computed from the residual stream at its position, a sum:
# token embedding, position embedding, and what layer 0 wrote. The next cell keeps only the
# position embedding. `model.W_pos @ model.W_Q[1]` multiplies the 50 positions' embeddings
# (`[position, d_model]`) by each layer-1 head's query weights (`[head, d_model, d_head]`),
# giving the query each position would have from its position alone, for the four heads at
# once (`[head, position, d_head]`, plus the query bias); the same with `W_K` gives the keys,
# and their scaled products are a `[head, q, k]` table of **positional scores**, the part of
# every attention score that is the same whatever the tokens. For each period the cell then
# takes the repeat's queries and prints, per head, the mean positional score of the
# induction target ($n - 1$ back) minus that of position 0, where L1H2 rests. Look at the
# sign and the size: a negative number means that position alone pulls the head towards
# position 0, a positive one towards the target, and a difference of $d$ contributes a
# factor of $e^d$ to the ratio of their attention weights, whatever the tokens add.

# %% nbgrader={"grade": false, "grade_id": "code_positional_qk", "locked": true, "schema_version": 3, "solution": false, "task": false}
# Layer 1's queries and keys built from the positional embeddings alone, leaving out the
# token embeddings and everything layer 0 wrote: an approximation, kept to see what
# position alone contributes.
queries = model.W_pos @ model.W_Q[1] + model.b_Q[1][:, None]  # [head, position, d_head]
keys = model.W_pos @ model.W_K[1] + model.b_K[1][:, None]
positional = queries @ keys.transpose(-1, -2) / model.cfg.d_head ** 0.5  # [head, q, k]
for n in (5, 10, 15, 20, 25):
    q = torch.arange(n, 2 * n)  # the queries of the repeat
    gap = (positional[:, q, q - n + 1] - positional[:, q, 0]).mean(-1)
    print(f"{n:2}+{n:<2}: positional score, induction target minus position 0 "
          + " ".join(f"{round(float(x), 1) + 0.0:+5.1f}" for x in gap))  # (+ 0.0: never "-0.0")


# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_positional_qk", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** L1H2 stand apart again. Its queries and keys carry position as well as
# token: from position alone it prefers position 0 to the target (4 or 9 back, $n - 1$) by
# 7 to 8 on 5+5 and 10+10, the negative numbers (in the softmax a factor of about
# $e^8 \approx 3000$, before the token match adds its part), while it prefers a target 19 or
# 24 back to position 0 by about as much (about 8). The other three heads' positional
# preferences are mild (0 to about 4). L1H2 is a specialist in distant copies: on short repeats its
# positional preference beats the token match, and it rests on position 0. Leaving out the
# token embeddings and layer 0's output is an approximation, since the token match lives in
# exactly those parts; what it isolates is what the head brings to every sequence, whatever
# the tokens.
#
# ### Exercise 5 ★ · `detect_heads`
#
# Scores are continuous; a claim like "the induction heads are ..." needs a cut-off. Write
# `detect_heads(scores, threshold)`: given a `[n_layers, n_heads]` tensor, return a list of
# `(layer, head, score)` tuples, with `layer` and `head` as Python ints and `score` a Python
# float, for every head whose score is **at least** `threshold`, highest score first.
#
# **Compare in the tensor's own dtype.** `scores[layer, head] >= threshold` (or
# `scores >= threshold` on the whole tensor) converts the threshold to the scores' dtype
# first, so a float32 score of 0.7 counts at threshold 0.7. Converting the score first,
# `float(scores[layer, head]) >= threshold`, does not: float32 stores 0.7 as 0.69999999,
# just below the Python float 0.7. The tests, visible and hidden, keep a score equal to the
# threshold in the tensor's dtype and drop a score 0.00001 below it; any comparison that does
# both passes (a tolerance of 1e-6 does too). Convert to a Python float only the score you
# return.
#
# **Ties.** Heads with equal scores may come in any order among themselves: the tests check
# the order only between heads whose scores differ. (Python's `sorted` is stable, so sorting
# by score alone keeps ties in layer, then head order.)

# %% nbgrader={"grade": false, "grade_id": "detect_heads", "locked": false, "schema_version": 3, "solution": true, "task": false}
def detect_heads(scores, threshold):
    ### BEGIN SOLUTION
    found = [(layer, head, float(scores[layer, head]))
             for layer in range(scores.shape[0]) for head in range(scores.shape[1])
             if scores[layer, head] >= threshold]
    return sorted(found, key=lambda item: item[2], reverse=True)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_detect_heads", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
_found = detect_heads(torch.tensor([[0.1, 0.5], [0.9, 0.3]]), 0.4)
assert [(l, h) for l, h, _ in _found] == [(1, 0), (0, 1)], f"expected heads (1, 0) then (0, 1), highest score first; got {_found}"
assert len(detect_heads(torch.tensor([[0.4]]), 0.4)) == 1, "a head scoring exactly the threshold counts (at least, not more than)"
assert len(detect_heads(torch.tensor([[0.7]]), 0.7)) == 1, \
    "a float32 score of 0.7 at threshold 0.7 counts: compare in the tensor's dtype (scores >= threshold), not after float()"
assert all(isinstance(x, int) for l, h, _ in _found for x in (l, h)) and isinstance(_found[0][2], float), \
    "layer and head should be Python ints, the score a Python float"
print("detect_heads passed the visible test:", detect_heads(scores["induction"], 0.4))
### BEGIN HIDDEN TESTS
def _check_detect_heads():
    s = torch.tensor([[0.40, 0.10, 0.95], [0.70, 0.39999, 0.40], [0.0, 1.0, 0.55]])
    got = detect_heads(s, 0.4)
    assert isinstance(got, list), "return a list"
    assert [(int(l), int(h)) for l, h, _ in got] == [(2, 1), (0, 2), (1, 0), (2, 2), (0, 0), (1, 2)] or \
           [(int(l), int(h)) for l, h, _ in got] == [(2, 1), (0, 2), (1, 0), (2, 2), (1, 2), (0, 0)], \
        f"every head scoring at least 0.4 (0.4 itself included, 0.39999 not), highest first; got {got}"
    assert all(type(l) is int and type(h) is int and type(x) is float for l, h, x in got), \
        "layer and head must be Python ints and the score a Python float"
    assert abs(got[0][2] - 1.0) < 1e-6 and abs(got[-1][2] - 0.4) < 1e-6, "report each head's own score"
    assert detect_heads(s, 1.5) == [], "no head above the threshold: an empty list"
    boundary = torch.tensor([[0.7, 0.69999], [0.3, 0.70001]])  # float32, as attention scores are
    got_boundary = [(int(l), int(h)) for l, h, _ in detect_heads(boundary, 0.7)]
    assert got_boundary == [(1, 1), (0, 0)], \
        f"a float32 score equal to the threshold counts and 0.69999 does not (compare in the tensor's dtype); got {got_boundary}"
    assert len(detect_heads(torch.rand(12, 12, generator=torch.Generator().manual_seed(0)), 0.0)) == 144, \
        "threshold 0 keeps every head of a 12 x 12 model"
    wide = torch.tensor([[0.1234, 0.2, 0.91], [0.35, 0.4567, 0.05]])  # 2 layers x 3 heads
    got = detect_heads(wide, 0.3)
    assert [(int(l), int(h)) for l, h, _ in got] == [(0, 2), (1, 1), (1, 0)], \
        f"on a 2-layer, 3-head model (not square) expected heads (0, 2), (1, 1), (1, 0); got {got}"
    assert abs(got[1][2] - 0.4567) < 1e-6, "report each head's score unrounded"
_check_detect_heads()
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_which_threshold", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Which threshold?** There is no standard one: papers and tutorials pick their own, after
# looking at how the scores fall. On your model any cut between 0.2 and 0.7 gives the same
# induction heads (the next cell checks), because the scores split into two groups far
# apart: about 0.75 and more in layer 1, 0.05 or less in layer 0. In a large model the scores
# form a continuum (heads that do a bit of induction among other jobs, attention spread over
# several earlier copies or parked on the first token), and the list you report depends on
# where you cut. Look at the distribution, and say which threshold you used.

# %% nbgrader={"grade": false, "grade_id": "code_thresholds", "locked": true, "schema_version": 3, "solution": false, "task": false}
for threshold in (0.2, 0.4, 0.7):
    print(f"threshold {threshold}: induction heads",
          [f"L{layer}H{head}" for layer, head, _ in detect_heads(scores["induction"], threshold)])

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_evidence_not_proof", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3 · A score is evidence, not proof
#
# Recall the 25+25-only model from notebook 3: its layer-0 heads attend **24 positions back**,
# whatever the tokens. Score it exactly as you scored your model:

# %% nbgrader={"grade": false, "grade_id": "code_shortcut_scores", "locked": true, "schema_version": 3, "solution": false, "task": false}
shortcut_scores = head_scores(shortcut_model, test_25, 25)
print_score_table(shortcut_scores)
print("induction heads at threshold 0.4:", [(l, h, round(s, 2)) for l, h, s in detect_heads(shortcut_scores["induction"], 0.4)])


# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_shortcut_scores", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** all four *layer-0* heads with induction scores around 0.92 to 0.94,
# higher than your real induction heads, and no previous-token head at all (L1H3 also
# crosses 0.4, at about 0.49: the threshold picks up a half-hearted head too). On a 25+25
# sequence "the position after the earlier copy of my token" and "24 positions back" are the
# same key for every query in the repeat, so the score cannot tell them apart. The score
# measures *where* a head looks on this input, not *why*.
#
# (Two differences from notebook 3's plots. There these layer-0 heads scored about 0.82: its
# scores also count first-half queries whose token appeared earlier by chance, yours count
# the repeat only. And the shortcut model you trained there, from seed 0, let its layer-1
# heads fade almost entirely; this one, the shipped model from seed 1, kept L1H3 at about
# half.)
#
# Two inputs pull the rules apart:
# - **another period:** on 20+20 the induction target is 19 back, and "24 back" misses;
# - **a random offset:** 10 unrelated tokens, then a 20-token block twice (50 positions).
#   The repeat is again the last 20 queries, the induction target 19 back.
#
# Because `head_scores` takes the period as an argument and reads the repeat from the end,
# it handles both without change:

# %% nbgrader={"grade": false, "grade_id": "code_scores_by_condition", "locked": true, "schema_version": 3, "solution": false, "task": false}
def repeated_after(batch, half_len, prefix, seed):
    # `prefix` random tokens, then a random block of half_len tokens twice
    g = torch.Generator().manual_seed(seed)
    noise = torch.randint(0, 64, (batch, prefix), generator=g)
    return torch.cat([noise, periodic_tokens(batch, half_len, 2 * half_len, generator=g)], 1).to(device)

conditions = {"25+25": (test_25, 25),
              "20+20": (repeated_after(64, 20, 0, seed=2), 20),
              "10 random, then 20+20": (repeated_after(64, 20, 10, seed=3), 20)}
for name, m in [("your model", model), ("shortcut model", shortcut_model)]:
    induction = {label: head_scores(m, tokens, half)["induction"] for label, (tokens, half) in conditions.items()}
    plot_head_scores(induction, title=f"{name}: induction score under three conditions")
    print(f"{name}: best induction score " + ", ".join(f"{label} {float(s.max()):.2f}" for label, s in induction.items()))

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_scores_by_condition", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** your model keep its induction heads under all three conditions (best
# scores about 0.91, 0.89 and 0.85) while the shortcut model's fall from about 0.94 to
# 0.05 or less: its "induction heads" were never looking for a token. A good test of a mechanism
# changes the input so that rival explanations predict different things. Notebook 6 goes one
# step further and changes the *model*.

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_head_detector", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 4 · TransformerLens's `head_detector`
#
# TransformerLens ships a head detector. Its `detect_head` takes text and a tokenizer, one
# sequence at a time, so we call its two building blocks directly: a **detection pattern**
# built from the tokens (a 0/1 matrix marking, for each query, the keys a head of that kind
# should attend to) and `compute_head_attention_similarity_score`, which with
# `error_measure="mul"` returns the attention mass on marked keys divided by the total
# attention mass. We score each sequence of section 2's 25+25 batch and average, so that
# both scores see the same inputs.

# %% nbgrader={"grade": false, "grade_id": "code_head_detector", "locked": true, "schema_version": 3, "solution": false, "task": false}
from transformer_lens import head_detector

_, batch_cache = model.run_with_cache(test_25)  # section 2's 25+25 batch
n_layers, n_heads = model.cfg.n_layers, model.cfg.n_heads

def detector_scores(kind):
    """TransformerLens's "mul" score of every head on each sequence of test_25, averaged."""
    total = torch.zeros(n_layers, n_heads)
    for b, tokens in enumerate(test_25.cpu()):
        target = getattr(head_detector, f"get_{kind}_detection_pattern")(tokens).to(device)
        total += torch.tensor([[head_detector.compute_head_attention_similarity_score(
            batch_cache["pattern", layer][b, head], target, exclude_bos=False,
            exclude_current_token=False, error_measure="mul")
            for head in range(n_heads)] for layer in range(n_layers)])
    return total / len(test_25)

ours = head_scores(model, test_25, 25)
print_score_table({"prev (ours)": ours["previous"], "prev (TL)": detector_scores("previous_token_head"),
                   "ind (ours)": ours["induction"], "ind (TL)": detector_scores("induction_head")})

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_head_detector", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** the previous-token scores agree closely (0.96 and 0.94 for L0H1), while
# TransformerLens's induction scores are a little over half of ours (0.44 to 0.48, against
# 0.75 to 0.91). Both are right; they answer different questions:
#
# - Its denominator is all the attention in the pattern, one unit per query, **all 50
#   queries**. Only the 25 queries of the repeat can attend to an induction target, so even a
#   perfect induction head scores about $25 / 50 = 0.5$. Ours averages over the repeat only,
#   so a perfect head scores 1.
# - Its targets come from **token matches**, not positions: every position just after an
#   earlier copy of the query's token is a target. Attention to the position after a twin's
#   copy counts too (a twin: a token that occurs twice within the random block), and so does a first-half query whose token appeared before by chance.
#   Each adds a little, which is why its scores sit a little above half of ours.
#
# For the previous-token score the targets are the same keys, and only the denominators
# differ, by one query: query 0 has no previous token but still counts in TransformerLens's
# total, so its score is ours times $49/50$. When you compare a score across papers or
# libraries, check its denominator and how it chooses targets.

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_gpt2_extra", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 5 · Extra: GPT-2 small's induction heads (needs internet)
#
# The same function runs unchanged on GPT-2 small (12 layers x 12 heads), with a BOS token
# and a 50-token random block repeated. With this same score on repeated random tokens,
# ARENA's TransformerLens tutorial names 5.1, 5.5, 6.9, 7.2 and 7.10 as GPT-2 small's
# clearest induction heads (ARENA 3.0, chapter 1.2, *Intro to Mechanistic Interpretability:
# TransformerLens & induction circuits*, [github.com/callummcdougall/ARENA_3.0](https://github.com/callummcdougall/ARENA_3.0)).
# Offline this cell prints one line and moves on.

# %% nbgrader={"grade": false, "grade_id": "code_gpt2_scores", "locked": true, "schema_version": 3, "solution": false, "task": false}
gpt2 = load_gpt2(device)
if gpt2 is not None:
    g = torch.Generator().manual_seed(0)
    block = torch.randint(1000, 10000, (4, 50), generator=g)  # ordinary word-piece ids
    bos = torch.full((4, 1), gpt2.tokenizer.bos_token_id)
    gpt2_tokens = torch.cat([bos, block, block], 1).to(device)
    gpt2_scores = head_scores(gpt2, gpt2_tokens, 50)
    found = detect_heads(gpt2_scores["induction"], 0.4)
    print("GPT-2 small, induction score >= 0.4:", [f"{l}.{h} ({s:.2f})" for l, h, s in found])
    published = {(5, 1), (5, 5), (6, 9), (7, 2), (7, 10)}
    print("of the published five, found:", sorted(published & {(l, h) for l, h, _ in found}))

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_gpt2_scores", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** (with internet) around ten heads above 0.4, nearly all in layers 5 to
# 11, including most or all of those five. GPT-2's scores spread more than your model's:
# many heads park spare attention on the BOS token, and several heads do a bit of induction
# on top of other jobs.

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_about_written_evidence", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### Written question (graded by hand)
#
# A colleague reports: "Head 1.3 of my model has an induction score of 0.95 on 25+25
# sequences, so it is an induction head." Describe two further pieces of evidence you would
# ask for, and for each, which alternative explanation it would rule out.
# ### BEGIN MARK SCHEME
# **Marking guide (2 points, graders only).**
#
# *Model answer.* (1) Its induction score on another period and after a random prefix
# (20+20, or 10 random tokens then 20+20). A positional rule such as "attend 24 back" scores
# about 0.95 on 25+25 but near 0 there (the shortcut model falls to 0.05 or less), while a
# head that matches tokens keeps its score. This rules out a positional shortcut that
# coincides with the induction offset on 25+25. (2) A causal test: ablating the head should
# raise the loss after the repeat more than before it (ablate it together with other
# candidate heads if they are redundant), and ablating the previous-token head below should
# make its induction score collapse. This rules out a head that attends in the right place
# but whose output the model does not use, or that finds the position by some route other
# than the previous token.
#
# *Rubric.*
# - 1 point: a first piece of evidence paired with the alternative it rules out, typically
#   the score on other periods or offsets, which rules out a positional rule.
# - 1 point: a second, different piece paired with its alternative, typically an ablation
#   (rules out a head the model does not use) or removing the previous-token head (rules out
#   another route to the target). A full OV circuit that copies (rules out a head that looks
#   right but writes something else) also counts.
# - Evidence without its alternative earns half. Two variants of the same test (20+20 and
#   15+15) count once. "More 25+25 data" rules out nothing: the shortcut scores about 0.94
#   there.
# ### END MARK SCHEME

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_evidence", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# See the model answer in the marking guide of the question above.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_recap", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Recap
#
# - A head with a fixed rule attends along one diagonal of its pattern: offset $-1$ for a
#   previous-token head; on an $n+n$ repeat, $-n$ for a duplicate-token head and $-(n-1)$ for
#   an induction head, scored over the last $n$ queries. A BOS token or any prefix moves the
#   repeat, not the offsets.
# - Scores on every head, plotted and thresholded, find the circuit in seconds. Where the
#   scores form two clean groups the threshold hardly matters; in big models it does.
# - On the training distribution a positional shortcut can out-score a real induction head.
#   Scores on inputs where the explanations disagree (another period, a random offset) tell
#   them apart.
# - Library scores can use other denominators and targets: TransformerLens's induction score
#   of a perfect head on one repeated sequence is about 0.5, not 1.
#
# Next, in notebook 5, you draw every head's pattern and read the circuit off the pictures.
#
# ### Recap questions (auto-graded)
#
# Set each variable to your answer.
# 1. `recap_offset_30`: the diagonal offset ($k - q$) an induction head attends along on a
#    30+30 repeated sequence (an int).
# 2. `recap_offset_30_bos`: the same, with a BOS token in front of the sequence (an int).
# 3. `recap_detector_perfect`: TransformerLens's `"mul"` induction score of a perfect
#    induction head on one 24+24 sequence whose block has no repeated tokens (a float).

# %% nbgrader={"grade": false, "grade_id": "recap_answers", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
recap_offset_30 = -29
recap_offset_30_bos = -29
recap_detector_perfect = 0.5
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_recap", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
assert all(isinstance(x, (int, float)) for x in (recap_offset_30, recap_offset_30_bos, recap_detector_perfect)), \
    "each recap answer should be a number"
assert float(recap_offset_30).is_integer() and float(recap_offset_30_bos).is_integer(), "offsets are whole numbers"
print("recap answers have the right types (the grader checks their values)")
### BEGIN HIDDEN TESTS
assert recap_offset_30 == -29, "recap 1: the token after the earlier copy, counted back from the query"
assert recap_offset_30_bos == -29, "recap 2: a BOS token moves both copies by one"
assert abs(recap_detector_perfect - 0.5) < 0.01, "recap 3: count the queries that can have an induction target"
### END HIDDEN TESTS
