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
# # 5 · Seeing the circuit: attention heatmaps
#
# Scores compress a head into one number. A heatmap shows everything the head does on one
# input, and a trained eye reads a head's job off it in a second: a stripe one step below the
# diagonal, a stripe that starts where the repeat starts, a column on the first token. In this
# notebook you build the picture, learn to read it, and back your reading with a number.
#
# **Time:** about 75 minutes for a learner new to transformer internals who has worked
# notebooks 3 and 4; about 85 if you start here (the box below gives you what you need).
# **Runs in:** under a minute on a laptop CPU.
#
# **By the end you will**
# - draw every head of a model in one grid of heatmaps, with the tokens on the axes;
# - compute the diagonal offset a head attends along, and classify every head of your
#   model from it;
# - see the positional shortcut's stripe refuse to move when the period changes, while a
#   real induction head's stripe follows the tokens;
# - explore each layer in an interactive view that works without internet;
# - write down, with evidence, what each of your model's eight heads does.
#
# **Exercises:** two to code (★★ needs some thought), two written answers (graded by your
# instructor), three recap questions.

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_before_start", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Before you start.** The first code cell, just below the Colab badge, installs the course toolkit,
# `induction_circuits`, if it is missing: on Colab run it first, and it takes about a minute
# (it keeps Colab's own torch); on your own machine `make lab` (see the README) has installed
# it already, and the cell does nothing. Then run the next cell: it imports what this notebook uses,
# prints one line that says whether you have a GPU (nothing here needs one), and loads the two
# models.
# This course runs on TransformerLens 4 and its `TransformerBridge`: tutorials written for the
# older `HookedTransformer` need the 4.x names to run (notebook 1 says which).

# %% nbgrader={"grade": false, "grade_id": "code_setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import matplotlib.pyplot as plt
import torch
from IPython.display import display

from induction_circuits.data import periodic_tokens, token_labels
from induction_circuits.model import SHIPPED_CHECKPOINTS, load_checkpoint, load_trained_model
from induction_circuits.scores import attention_patterns
from induction_circuits.setup import start
from induction_circuits.views import attention_view

torch.set_grad_enabled(False)
device = start()
model = load_trained_model(device)  # yours from notebook 3, or the shipped one
shortcut_model = load_checkpoint(SHIPPED_CHECKPOINTS["shortcut"], device)

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_prerequisites", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### What you need from earlier notebooks
#
# - **The task** (notebook 3). An *n*+*n* sequence is a block of *n* random tokens, drawn
#   from a vocabulary of 64, followed by the same block again: 25+25 has 50 positions. In
#   the repeat every next token can be copied from the first copy.
#   `periodic_tokens(batch, n, 2 * n)` makes a batch of them, and `token_labels` gives each
#   token a two-letter name (`ro`, `te`, ...) so that you can spot a repeat by eye.
# - **The models** (notebooks 1 and 3). Two layers of four attention heads, named
#   `L{layer}H{head}`, with no MLPs and no LayerNorm. `model` is yours from notebook 3, or
#   the shipped one, trained the same way: on repeats of varied period. `shortcut_model` was
#   trained on 25+25 only and solved it without induction: its layer-0 heads copy whatever
#   sits 24 positions back.
# - **Where each kind of head looks** (notebook 4, section 1), as an offset
#   *key position − query position* on an *n*+*n* repeat: a previous-token head at −1; a
#   duplicate-token head, which attends to the earlier copy of its own token, at −*n*; an
#   induction head, which attends to the token just after that earlier copy (the one to
#   predict), at −(*n* − 1). The last two apply only to queries in the repeat, the last *n*
#   positions.
# - **What notebooks 2 to 4 found.** In `model`, L0H1 is a previous-token head and the four
#   layer-1 heads are induction heads. An induction head finds its target because L0H1 has
#   written "my previous token was X" into the stream at that position, and the induction
#   head's keys read it (K-composition, notebook 2).
#
# **Attention patterns, in brief.** At each position the model keeps a vector of 64 numbers,
# the *residual stream*: the token's embedding plus its position's, plus whatever each layer
# has added to it (notebook 1). A head turns the stream at query position $p$ into a query
# vector, and the stream at every position $j$ into a key vector (16 numbers each,
# `d_head`). It scores each key by the dot product of query and key divided by $\sqrt{16}$,
# sets the score of every key after $p$ to $-\infty$ (a position may not look at the future:
# the *causal mask*), and takes a softmax over keys. Row $p$ of the head's **pattern** is
# that softmax: its attention from query $p$ to each key $j \le p$, numbers that add up to 1.
# The head then adds a mix of what it reads at those keys, weighted by the pattern, to the
# stream at $p$ (notebook 6 removes a head's contribution at this point, to see what it was for). So a pattern is a lower-triangular
# `[query, key]` matrix whose rows sum to 1, and `attention_patterns(model, tokens)` (from
# the course toolkit) returns every head's, `[n_layers, batch, n_heads, query, key]`. Check
# both on one 6+6 sequence:

# %% nbgrader={"grade": false, "grade_id": "code_demo_patterns", "locked": true, "schema_version": 3, "solution": false, "task": false}
demo = periodic_tokens(1, 6, 12, generator=torch.Generator().manual_seed(0), device=device)  # one 6+6 sequence
print("tokens:", token_labels(demo[0]))
demo_patterns = attention_patterns(model, demo)
print("patterns:", tuple(demo_patterns.shape), "= [layer, batch, head, query, key]")
row_sums = demo_patterns.sum(-1)
print("every row sums to 1:", torch.allclose(row_sums, torch.ones_like(row_sums)),
      "| nothing above the diagonal:", bool((demo_patterns.triu(1) == 0).all()))


# %% [markdown] nbgrader={"grade": false, "grade_id": "md_every_head", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1 · Every head in one picture
#
# Take one sequence from `attention_patterns(model, tokens)` and you have
# `[n_layers, n_heads, q, k]`: a grid of small matrices, one per head, which is exactly how
# we want to draw them.
#
# Two choices make such a grid readable:
# - **one colour scale for every panel, from 0 to 1.** Attention weights are probabilities;
#   with a shared scale a pale panel really is a diffuse head, not a rescaled sharp one;
# - **tokens on the axes** when the sequence is short enough to read them (up to about 20
#   positions), so you can check a stripe against the tokens themselves.
#
# ### Exercise 1 ★★ · `plot_attention_grid`
#
# Write `plot_attention_grid(patterns, labels=None)`: given `patterns` of shape
# `[n_layers, n_heads, q, k]` (a tensor, on any device), return a matplotlib `Figure` with one
# panel per head, `n_layers` rows by `n_heads` columns, where panel `(l, h)`:
# - shows `patterns[l, h]` with `imshow`, on a colour scale from 0 to 1 (`vmin=0, vmax=1`);
# - is titled `L{l}H{h}` (e.g. `L1H3`);
# - when `labels` (a list of strings, one per position) is given, has them as tick labels on
#   both axes: keys along x, queries along y, one tick per position.
#
# *Hints:* `plt.subplots(n_layers, n_heads, squeeze=False)` always returns a 2-D array of
# axes, even for a single layer or head; `ax.set_xticks(range(n), labels, rotation=90)`
# places and names the ticks; tensors must be on the CPU for matplotlib (`.cpu()`).

# %% nbgrader={"grade": false, "grade_id": "plot_attention_grid", "locked": false, "schema_version": 3, "solution": true, "task": false}
def plot_attention_grid(patterns, labels=None):
    ### BEGIN SOLUTION
    n_layers, n_heads, seq, _ = patterns.shape
    fig, axes = plt.subplots(n_layers, n_heads, squeeze=False,
                             figsize=(2.6 * n_heads, 2.6 * n_layers))
    for layer in range(n_layers):
        for head in range(n_heads):
            ax = axes[layer, head]
            ax.imshow(patterns[layer, head].detach().cpu(), cmap="Blues", vmin=0, vmax=1)
            ax.set_title(f"L{layer}H{head}")
            if labels is not None:
                ax.set_xticks(range(seq), labels, rotation=90, fontsize=6)
                ax.set_yticks(range(seq), labels, fontsize=6)
    fig.tight_layout()
    return fig
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_plot_attention_grid", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
import matplotlib
def _panels(fig):
    return [ax for ax in fig.axes if ax.images]
### END HIDDEN TESTS
sample = periodic_tokens(1, 8, 16, generator=torch.Generator().manual_seed(0), device=device)
sample_labels = token_labels(sample[0])
sample_patterns = attention_patterns(model, sample)[:, 0]  # [layer, head, q, k]
fig = plot_attention_grid(sample_patterns, sample_labels)
assert isinstance(fig, plt.Figure), f"return the matplotlib Figure, got {type(fig).__name__}"
_image_axes = [ax for ax in fig.axes if ax.images]
assert len(_image_axes) == 8, f"expected 8 panels with an image (2 layers x 4 heads), got {len(_image_axes)}"
assert sorted(ax.get_title() for ax in _image_axes) == [f"L{l}H{h}" for l in range(2) for h in range(4)], \
    f"titles should be L0H0 ... L1H3, got {sorted(ax.get_title() for ax in _image_axes)}"
assert all([t.get_text() for t in ax.get_xticklabels()] == sample_labels for ax in _image_axes), \
    "every panel's x axis should carry the token labels, one tick per key position"
_even = plot_attention_grid(torch.full((1, 1, 4, 4), 0.25))  # one head spreading evenly over 4 keys
_even_axes = [ax for ax in _even.axes if ax.images]
assert len(_even_axes) == 1, "a single head should give a single panel (see the squeeze hint)"
assert tuple(_even_axes[0].images[0].get_clim()) == (0, 1), \
    "put every panel on one colour scale from 0 to 1 (vmin=0, vmax=1): an even 0.25 everywhere must look pale, not dark"
plt.close(_even)
print("plot_attention_grid passed the visible test")
### BEGIN HIDDEN TESTS
def _check_plot_attention_grid():
    g = torch.Generator().manual_seed(5)
    for n_layers, n_heads, seq in [(1, 1, 5), (3, 2, 7), (2, 4, 12)]:
        raw = torch.rand(n_layers, n_heads, seq, seq, generator=g).tril()
        patterns = (raw / raw.sum(-1, keepdim=True)).to(device)
        labels = [f"t{i}" for i in range(seq)]
        fig = plot_attention_grid(patterns, labels)
        assert isinstance(fig, matplotlib.figure.Figure), "return a matplotlib Figure"
        panels = {ax.get_title(): ax for ax in _panels(fig)}
        expected = {f"L{l}H{h}" for l in range(n_layers) for h in range(n_heads)}
        assert set(panels) == expected and len(_panels(fig)) == len(expected), \
            f"a {n_layers}x{n_heads} grid needs one titled image panel per head, {sorted(expected)}; got {sorted(panels)}"
        for l in range(n_layers):
            for h in range(n_heads):
                ax = panels[f"L{l}H{h}"]
                shown = torch.as_tensor(ax.images[0].get_array().data if hasattr(ax.images[0].get_array(), "data") else ax.images[0].get_array()).float()
                assert tuple(shown.shape) == (seq, seq) and torch.allclose(shown, patterns[l, h].cpu().float(), atol=1e-6), \
                    f"panel L{l}H{h} must show patterns[{l}, {h}] (query rows, key columns)"
                assert tuple(ax.images[0].get_clim()) == (0, 1), \
                    f"panel L{l}H{h}: use one colour scale from 0 to 1 (vmin=0, vmax=1), got {ax.images[0].get_clim()}"
                assert [t.get_text() for t in ax.get_xticklabels()] == labels, \
                    f"panel L{l}H{h}: the x axis (keys) should carry one tick label per position"
                assert [t.get_text() for t in ax.get_yticklabels()] == labels, \
                    f"panel L{l}H{h}: the y axis (queries) should carry one tick label per position"
        plt.close(fig)
    spread = torch.rand(2, 2, 6, 6, generator=g).softmax(-1)  # no weight reaches 0 or 1
    fig = plot_attention_grid(spread)
    assert all(tuple(ax.images[0].get_clim()) == (0, 1) for ax in _panels(fig)), \
        "every panel needs the colour scale 0 to 1 whatever its values (vmin=0, vmax=1)"
    plt.close(fig)
    fig = plot_attention_grid(patterns)
    assert len(_panels(fig)) == 8, "labels are optional"
    plt.close(fig)
_check_plot_attention_grid()
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_test_plot_attention_grid", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** two rows of four panels (head numbers as in the shipped model, or yours
# trained from seed 1). In layer 0, L0H1 is a thin stripe one step below the diagonal; L0H0
# sits two steps below it, more faintly; L0H2 and L0H3 draw no stripe along the diagonal.
# In layer 1, L1H0, L1H1 and L1H3 draw a stripe in the second half, parallel to the
# diagonal and 7 positions to its left: from the second copy of each token to the position
# just after its first copy. L1H2 rests on the first token throughout. Before the repeat
# the layer-1 heads have no earlier copy to find, and three of them park their attention on
# one of the first positions: at each of the eight queries of the first half, L1H2 and L1H3
# give the first token at least 0.85 of it, and L1H1 gives the second token as much (from
# query 1 on). L1H0 parks there at only about half of them: clearly at queries 0, 1, 3 and 7;
# at query 2 it splits its attention between the first token and its own position (which of
# the two gets more depends on the run); at query 4 it looks mostly at its own position, and
# at 5 and 6 at the last few positions. A softmax has to put its weight somewhere, and a head with nothing to find
# parks it, usually on one of the first positions.
#
# Read the stripe as numbers: the key each layer-1 head attends to most, from each query of
# the repeat.

# %% nbgrader={"grade": false, "grade_id": "code_rows", "locked": true, "schema_version": 3, "solution": false, "task": false}
print("tokens:     ", "  ".join(f"{i}:{label}" for i, label in enumerate(sample_labels)))
print("query:      ", " ".join(f"{q:3d}" for q in range(8, 16)))
print("target:     ", " ".join(f"{q - 7:3d}" for q in range(8, 16)), "  (just after the first copy: 7 back)")
for head in range(4):
    looked_at = sample_patterns[1, head, 8:].argmax(-1).tolist()
    print(f"L1H{head} looks at", " ".join(f"{k:3d}" for k in looked_at))

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_rows", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** L1H0, L1H1 and L1H3 on the target from query 9 on, with two kinds of
# exception, each with a reason:
# - **Query 8**, the first token of the repeat (`ro`). Its first copy is at position 0 and
#   the target at 1, but L1H0 and L1H3 look at position 0 (L1H1 looks at 1, where it rests
#   anyway). The layer-1 heads check the token *before* the match as well as the match
#   itself (notebook 6, section 3, shows this): before the second `ro` comes `fe`, but
#   nothing comes before the first. With only half a match, the first token, where these
#   heads rest, wins on this sequence.
# - **Queries 11 and 13** hold `bo`, which occurs twice in the block (positions 3 and 5), so
#   two keys follow a `bo`. L1H1 at query 11 and L1H3 at query 13 fall back to position 1.
#   The check on the token before is what tells the two `bo`s apart (`ba bo` against
#   `vo bo`).
#
# And L1H2 looks at position 0 from every query. Its queries depend on their position: on
# sequences of random tokens, with no repeat at all, measure how much of its attention it
# gives the first token at each query position, then its induction score (notebook 4: the
# mean attention from the repeat's queries to the key $n - 1$ back) on repeats of several
# lengths:

# %% nbgrader={"grade": false, "grade_id": "code_l1h2", "locked": true, "schema_version": 3, "solution": false, "task": false}
random_tokens = torch.randint(0, 64, (256, 50), generator=torch.Generator().manual_seed(1), device=device)
first_token = attention_patterns(model, random_tokens)[1, :, 2, :, 0].mean(0)  # L1H2, mean over the batch: [query]
print("L1H2's attention to the first token, by query position:",
      ", ".join(f"{q}: {first_token[q]:.2f}" for q in (5, 10, 15, 20, 22, 24, 26, 30, 40)))
for n in (8, 15, 20, 25):
    repeats = periodic_tokens(256, n, 2 * n, generator=torch.Generator().manual_seed(1), device=device)
    stripe = torch.diagonal(attention_patterns(model, repeats)[1, :, 2], offset=-(n - 1), dim1=-2, dim2=-1)[..., -n:]
    print(f"L1H2's induction score on {n}+{n}: {stripe.mean():.2f} (the repeat's queries are positions {n} to {2 * n - 1})")


# %% [markdown] nbgrader={"grade": false, "grade_id": "md_l1h2", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** L1H2 give the first token nearly all its attention from every query up
# to about position 20, and none from about position 26 on, whatever the tokens: early in a
# sequence it rests, and only later does it look for anything. The queries of an *n*+*n*
# repeat are positions *n* to 2*n* − 1: all early on 8+8, mostly late on 20+20 and 25+25,
# hence an induction score that rises from about 0.1 on 8+8 to about 0.9 on 20+20 and
# 25+25. It is an induction head for the second half of a long sequence. (Why training split
# the work this way, this course leaves open.)

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_offset", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2 · A head's offset, as a number
#
# A stripe parallel to the diagonal is a constant offset $k - q$. Summing a pattern along
# each diagonal gives the **attention mass at each offset**: how much of the head's attention,
# over all queries, goes exactly $d$ positions back. A head with one job has one tall bar in
# that profile; its position is the head's offset.
#
# ### Exercise 2 ★★ · `dominant_offset`
#
# Write `dominant_offset(pattern)`: for a pattern `[..., q, k]` over `seq` positions, add up
# the attention at each distance $d = 0, 1, \dots, seq - 1$ back (over every query, and over
# every leading dimension, e.g. a batch of sequences), and return the offset $-d$ with the
# most mass as a Python `int` (`0` for "attends to itself", `-1` for the previous token, ...).
#
# *Hint:* for a distance $d \ge 0$, `torch.diagonal(pattern, offset=-d, dim1=-2, dim2=-1).sum()`
# is the mass at offset $-d$.

# %% nbgrader={"grade": false, "grade_id": "dominant_offset", "locked": false, "schema_version": 3, "solution": true, "task": false}
def dominant_offset(pattern):
    ### BEGIN SOLUTION
    seq = pattern.shape[-1]
    mass = torch.stack([torch.diagonal(pattern, offset=-d, dim1=-2, dim2=-1).sum() for d in range(seq)])
    return -int(mass.argmax())
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_dominant_offset", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
_prev = torch.diag(torch.ones(5), -1)
_prev[0, 0] = 1.0
assert dominant_offset(_prev) == -1, f"a previous-token pattern has offset -1, got {dominant_offset(_prev)}"
assert dominant_offset(torch.eye(6)) == 0, "a head attending to itself has offset 0"
assert isinstance(dominant_offset(torch.eye(6)), int), "return a Python int"
print("dominant_offset passed the visible test")
### BEGIN HIDDEN TESTS
def _check_dominant_offset():
    def stripe(seq, back):
        p = torch.zeros(seq, seq)
        for q in range(seq):
            p[q, q - back if q >= back else 0] = 1.0
        return p
    for seq, back in [(10, 3), (50, 24), (40, 19), (9, 2)]:
        got = dominant_offset(stripe(seq, back))
        assert got == -back and isinstance(got, int), \
            f"a {seq}-position pattern attending {back} back should give {-back} (a Python int), got {got!r}"
    batch = torch.stack([stripe(12, 5), stripe(12, 2), stripe(12, 2)])[None]  # [1, 3, 12, 12]
    assert dominant_offset(batch) == -2, "sum the mass over every leading dimension: two of three sequences say -2"
    mixed = 0.4 * stripe(20, 1) + 0.6 * torch.zeros(20, 20).index_fill_(1, torch.tensor([0]), 1.0)
    assert dominant_offset(mixed) == -1, \
        "a head that parks 60% of its attention on the first token (one entry per offset) still has offset -1: add up the mass, do not average it"
    split = torch.zeros(30, 30)  # most queries prefer offset 0, but more mass lies at -3
    for q in range(30):
        if q < 3:
            split[q, q] = 1.0
        elif q < 10:
            split[q, q - 3] = 1.0
        else:
            split[q, q], split[q, q - 3], split[q, q - 7] = 0.4, 0.35, 0.25
    assert dominant_offset(split) == -3, "the offset with the most attention mass, not the most common favourite"
    corner = torch.zeros(6, 6)
    corner[5, 0] = 1.0
    assert dominant_offset(corner) == -5, "consider every offset down to -(seq - 1)"
    wide = torch.zeros(30, 30)
    for q in range(30):
        wide[q, max(q - 10, 0)] += 0.7
        wide[q, q] += 0.3
    assert dominant_offset(wide) == -10, "mass at offset -10 (0.7 per query) outweighs offset 0 (0.3 per query)"
    assert dominant_offset(stripe(9, 4).to(device)) == -4, "patterns may live on any device"
_check_dominant_offset()
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_classify", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3 · Classify every head
#
# Now read your model's heads through both lenses: the offset each one attends along on 25+25
# sequences and on 20+20 sequences, and the role that offset suggests. Compare the two
# columns before you read on.

# %% nbgrader={"grade": false, "grade_id": "code_roles", "locked": true, "schema_version": 3, "solution": false, "task": false}
def roles(m, half_len, n=32, seed=0):
    # {(layer, head): (offset, share of all attention at that offset)} on n+n repeats
    tokens = periodic_tokens(n, half_len, 2 * half_len, generator=torch.Generator().manual_seed(seed), device=device)
    patterns = attention_patterns(m, tokens)  # [layer, batch, head, q, k]
    found = {}
    for layer in range(m.cfg.n_layers):
        for head in range(m.cfg.n_heads):
            pattern = patterns[layer, :, head]
            offset = dominant_offset(pattern)
            share = torch.diagonal(pattern, offset=offset, dim1=-2, dim2=-1).sum() / pattern.sum()
            found[layer, head] = (offset, float(share))
    return found

def classify(m, title):
    print(title)
    on_25, on_20 = roles(m, 25), roles(m, 20)
    for (layer, head), (offset_25, share_25) in on_25.items():
        offset_20, share_20 = on_20[layer, head]
        print(f"  L{layer}H{head}: 25+25 offset {offset_25:4d} ({share_25:4.0%} of its attention),"
              f"  20+20 offset {offset_20:4d} ({share_20:4.0%})")

classify(model, "your model")
classify(shortcut_model, "the 25+25-only model")

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_roles", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see**, for your model: L0H1 at $-1$ on both inputs with about 95% of its
# attention there (the previous-token head), and the four layer-1 heads at $-24$ on 25+25
# **and $-19$ on 20+20**: their stripe moves with the period, because they look for a token,
# not a distance. Their share, about 40%, is their induction score from notebook 4 (about
# 0.75 to 0.9) diluted by the first half: only the queries of the repeat have an earlier copy
# to find, half of all queries, so about $0.8 \times 25/50 = 0.4$ of a head's attention can
# lie on that stripe. L0H0 sits at $-2$ with about 40% (it looks two tokens back; notebook 6
# measures what that buys). L0H2 and L0H3 also report an offset ($-1$ and $0$), but with
# about 10% of a diffuse pattern behind it: an offset means little without its share. The
# role names are yours to attach: $-1$ previous token, $0$ current token, $-n$ duplicate
# token, $-(n-1)$ induction on an $n+n$ repeat.
#
# For the 25+25-only model, the four layer-0 heads sit at $-24$ on **both** inputs. On 20+20
# the induction target is 19 back, yet they still look 24 back: the rule is about positions.
# Its layer-1 heads have no stripe at $-24$ or $-19$: their largest share is at offset 0,
# their own position (about 80% of L1H2's attention, 20% to 55% of the other three's, the
# rest spread thinly). Whatever layer 1 of that model does, it does not look for earlier
# copies (notebook 6 measures what it adds). A heatmap of the shortcut model on 20+20 makes
# the same point visually:

# %% nbgrader={"grade": false, "grade_id": "code_shortcut_on_20", "locked": true, "schema_version": 3, "solution": false, "task": false}
twenty = periodic_tokens(1, 20, 40, generator=torch.Generator().manual_seed(3), device=device)
fig = plot_attention_grid(attention_patterns(shortcut_model, twenty)[:, 0])
fig.suptitle("25+25-only model on a 20+20 sequence: the stripe stays 24 back", y=1.02);


# %% [markdown] nbgrader={"grade": false, "grade_id": "md_tokens", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **L0H2 and L0H3.** A diffuse pattern with no favourite offset need not be noise: a head may
# choose its keys by *which token* sits there rather than by where it sits. Test that on
# random tokens: how much attention does each token receive as a key, relative to an even
# spread over the keys (1 means its fair share)?

# %% nbgrader={"grade": false, "grade_id": "code_token_preference", "locked": true, "schema_version": 3, "solution": false, "task": false}
def token_preference(m, layer, head, n=256):
    # [d_vocab]: the attention each token receives as a key, over its fair share (an even spread)
    toks = torch.randint(0, m.cfg.d_vocab, (n, 50), generator=torch.Generator().manual_seed(2), device=device)
    pattern = attention_patterns(m, toks)[layer, :, head]                     # [batch, q, k]
    positions = torch.arange(50, device=device)
    keep = (positions[None, :] <= positions[:, None]) & (positions[:, None] >= 5)  # keys k <= q, queries q >= 5
    ratio = pattern * (positions[:, None] + 1)                                 # an even spread gives 1 everywhere
    received, counted = (ratio * keep).sum(1), keep.sum(0).expand(n, -1).float()  # [batch, k]
    totals = torch.zeros(m.cfg.d_vocab, device=device).index_add_(0, toks.flatten(), received.flatten())
    counts = torch.zeros(m.cfg.d_vocab, device=device).index_add_(0, toks.flatten(), counted.flatten())
    return (totals / counts).cpu()

for head in (1, 2, 3):
    share = token_preference(model, 0, head)
    order = share.argsort(descending=True).tolist()
    print(f"L0H{head}: most favoured", ", ".join(f"{token_labels([t])[0]} {share[t]:.1f}x" for t in order[:3]),
          "| least favoured", ", ".join(f"{token_labels([t])[0]} {share[t]:.1f}x" for t in order[-3:]))

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_tokens_after", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** L0H1, which chooses its keys by position, give every token close to its
# fair share (all between about 0.8x and 1.3x). L0H3 gives its favourite tokens three to
# four and a half times their share and others a fifth of it; L0H2 leans the same way, more weakly
# (from about 0.4x to about 2x). So these two pick keys by token. What they do with it
# shows only when you remove them (notebook 6, section 2): the loss after the repeat does
# not move, and the loss before the repeat rises.

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_interactive_view", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 4 · An interactive view, online or not
#
# circuitsvis draws interactive attention views in the notebook. Its default output loads
# the drawing code from a web server (unpkg) each time the notebook is displayed, so on a
# plane, behind a firewall or in a notebook reopened years from now it shows nothing. The
# course's `attention_view` embeds circuitsvis's bundled drawing code in the notebook
# instead (about 1.3 MB per view), so the view renders without any network.
#
# Each view is one layer, drawn by circuitsvis's `attention_heads`: a row of small heatmaps,
# one per head (the *head selector*: hover over one to show it below, click it to keep it
# there), and below them the chosen head enlarged, with queries ("Destination Token") down
# the side and keys ("Source Token") along the bottom, each labelled with its token and
# position. Hover over a cell of the enlarged heatmap to read its query and key positions,
# both tokens and the attention weight. The sequence is a 10+10 repeat.

# %% nbgrader={"grade": false, "grade_id": "code_interactive_view", "locked": true, "schema_version": 3, "solution": false, "task": false}
view_tokens = periodic_tokens(1, 10, 20, generator=torch.Generator().manual_seed(0), device=device)
view_labels = token_labels(view_tokens[0])
_, view_cache = model.run_with_cache(view_tokens)
for layer in range(model.cfg.n_layers):
    display(attention_view(view_cache["pattern", layer][0], view_labels, layer=layer))
query = 17
print(f"Try it: in layer 1, pick L1H0 and hover over row '{view_labels[query]} ({query})', column "
      f"'{view_labels[query - 9]} ({query - 9})'. Its weight: {view_cache['pattern', 1][0, 0, query, query - 9]:.2f}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_interactive_view", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** two views of four heads. In layer 1, L1H0, L1H1 and L1H3 draw their
# stripe 9 positions left of the diagonal in the second half, and the cell named above holds
# about 0.99: from the second `fe` to `ho`, the token after the first `fe`. L1H2's panel is
# almost all a column on the first token: a 10+10 repeat's queries are early ones (section 1).
# In layer 0, L0H1's panel is a stripe just below the diagonal.
#
# ### Written question 1 (graded by hand)
#
# For each of your model's four **layer-0** heads, say what it does and give the evidence
# (offsets, heatmap, scores from notebook 4). Where a head has no clear job, say so and what
# you looked at.
# ### BEGIN MARK SCHEME
# **Marking guide (2 points, graders only).**
#
# *Model answer.* (Shipped model, or the learner's from seed 1.) L0H1 is the previous-token
# head: a sharp stripe one below the diagonal, offset $-1$ on both 25+25 and 20+20 with
# about 95% of its attention there, previous-token score about 0.96. L0H0 attends two
# positions back (offset $-2$ on both inputs, about 40% of its attention): a weaker second
# previous-token-like head, whose output lets the layer-1 heads check the token two back as
# well. L0H2 and L0H3 have no positional job: the offsets they report ($-1$ and $0$) carry only
# about 10% of a diffuse pattern, and their scores are low (previous-token about 0.1,
# induction about 0.05). They choose keys by token instead: L0H3 gives some tokens about
# four times their fair share, L0H2 about twice (section 3). What that is for shows
# only under ablation (notebook 6: removing them raises the loss before the repeat, not
# after it).
#
# *Rubric.*
# - 1 point: the previous-token head (L0H1 in the shipped model) identified with evidence:
#   offset $-1$ on both periods, its share (about 95%), or its score (about 0.96).
# - 1 point: the other three described with evidence: L0H0 looks two back (offset $-2$,
#   about 40%); L0H2 and L0H3 have no positional job (diffuse, about 10% at their offset),
#   and the answer says what was checked. Their token preference, or "no clear job, here is
#   what I looked at", both earn the point. Half credit if only L0H0 or only the diffuse
#   pair is handled correctly.
# - Common error: calling L0H2 a previous-token head because its offset is $-1$, ignoring
#   the 10% share. A learner's model trained otherwise may number heads differently: grade
#   the evidence cited, not these head numbers.
# ### END MARK SCHEME

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_layer_0", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# See the model answer in the marking guide of the question above.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_about_written_layer_1", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### Written question 2 (graded by hand)
#
# Now the four **layer-1** heads. What do they do, how do you know it is induction and not a
# positional rule, and why might a model keep four heads doing the same job?
# ### BEGIN MARK SCHEME
# **Marking guide (2 points, graders only).**
#
# *Model answer.* All four are induction heads: in the second half they attend to the
# position after the earlier copy of the current token (offset $-24$ on 25+25, induction
# scores about 0.75 to 0.91). The stripe moves to $-19$ on 20+20, and the induction scores
# stay high on 20+20 and after a random prefix, so they follow tokens, not positions (the
# shortcut's heads stay at $-24$). Four heads doing the same job add their copies of the
# answer, which makes the prediction more confident and more robust; nothing in training
# penalises redundancy, so several heads take part (notebook 6: ablating one costs about
# 0.2, all four together raise the loss after the repeat from about 0.06 to about 4.2).
#
# *Rubric.*
# - 1 point: all four are induction heads, and the evidence separates induction from a
#   positional rule: the offset follows the period ($-24$ on 25+25, $-19$ on 20+20) or the
#   scores survive another period or a prefix. Offset $-24$ or scores on 25+25 alone: half,
#   since the shortcut looks the same there.
# - 1 point: why four: their outputs add, so redundant copies make the prediction more
#   confident and robust to losing one, and training has no reason to stop several heads
#   learning the same job. Noting that L1H2 joins in only late in a sequence (so only on
#   longer repeats) is a plus, not needed.
# - "They must each do a different job" with no evidence earns nothing for the second point.
# ### END MARK SCHEME

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_layer_1", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# See the model answer in the marking guide of the question above.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_recap", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Recap
#
# - A grid of heatmaps on one shared 0-to-1 scale shows every head's behaviour on an input;
#   a head with one job is a stripe, and its offset names the job.
# - The attention mass at each offset turns a stripe into a number, `dominant_offset`.
# - Change the input and watch the stripe: an induction head's offset follows the period
#   ($-24$ on 25+25, $-19$ on 20+20), a positional head's does not.
# - circuitsvis views can carry their own drawing code, so they render offline.
# - A stripe's exceptions have reasons: the first query of a repeat and a token that occurs
#   twice in the block are weaker matches, and L1H2 works only late in a sequence.
#
# Next, in notebook 6, you stop observing and intervene: switch heads off and measure what
# breaks.
#
# ### Recap questions (auto-graded)
#
# 1. `recap_prev_offset`: the offset of a previous-token head (an int).
# 2. `recap_shortcut_offset_20`: the offset of the 25+25-only model's layer-0 heads on 20+20
#    sequences (an int).
# 3. `recap_induction_offset_20`: the offset of an induction head on 20+20 sequences (an int).

# %% nbgrader={"grade": false, "grade_id": "recap_answers", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
recap_prev_offset = -1
recap_shortcut_offset_20 = -24
recap_induction_offset_20 = -19
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_recap", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
assert all(isinstance(x, int) for x in (recap_prev_offset, recap_shortcut_offset_20, recap_induction_offset_20)), \
    "each recap answer should be an int"
print("recap answers have the right types (the grader checks their values)")
### BEGIN HIDDEN TESTS
assert recap_prev_offset == -1, "recap 1: one position back"
assert recap_shortcut_offset_20 == -24, "recap 2: a positional rule does not change with the period"
assert recap_induction_offset_20 == -19, "recap 3: the token after the earlier copy, half_len - 1 back"
### END HIDDEN TESTS
