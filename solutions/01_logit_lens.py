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
# # 1 · The residual stream and the logit lens
#
# A transformer does not pass a message from layer to layer. Every layer reads from, and adds
# to, one running sum, the **residual stream**. This notebook takes that sum apart in a
# small trained model, then decodes it after every layer to watch a prediction form.
#
# **Time:** about 50 minutes if transformers' insides are new to you (Python and PyTorch basics
# are all it assumes). **Runs in:** well under a minute on a laptop CPU.
#
# **By the end you will**
# - check that the stream really is a sum: embeddings plus every head's output;
# - write a **logit lens**, which decodes the stream at any depth as if it were the last;
# - see that on repeated sequences the right next token appears only after layer 1, which
#   tells you where the copying happens;
# - (with internet) run the same lens on GPT-2 small.
#
# **Exercises:** three to code (★ short, ★★ needs some thought), one written answer (graded
# by your instructor), three recap questions. After each exercise a test cell says whether
# it passed. Hidden tests run when it is graded, so make it correct in general.

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_prerequisites", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **What you need from earlier notebooks.** Nothing: this notebook starts the course. It sets
# up what the later ones build on:
# - *The task.* Random tokens that repeat. A "25+25" sequence is 25 random tokens followed by
#   the same 25 again. Its second half is predictable from its first: after a token A, predict
#   whatever followed A last time. Predicting it by looking back at the earlier copy is called
#   **induction** ([A][B] ... [A] → [B]), and a head that does it is an **induction head**.
# - *The model.* A small trained transformer: 2 layers of 4 attention heads (named L0H0 to
#   L1H3: layer 0 head 0 to layer 1 head 3), no MLPs, no LayerNorm, a vocabulary of 64 tokens,
#   contexts of 50 tokens. Section 1 loads it. (*LayerNorm*, which most transformers apply
#   before each layer and before the unembedding, rescales each position's stream vector to
#   mean 0 and a fixed size, then applies a learned scale and shift; without it the toy model
#   unembeds its stream exactly as it is, so the logit lens of section 3 decodes an earlier
#   depth with the very map the model applies to its last one, and nothing about a norm has
#   to be approximated.)
# - *Where the rest is taught.* What an attention head computes, and how this model's heads do
#   induction, read from the weights: notebook 2. Training the model yourself: notebook 3.
#   Finding heads by their attention: notebooks 4 and 5. Proving which heads matter by
#   removing them: notebook 6.

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_before_start", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Before you start.** The first code cell, just below the Colab badge, installs the course toolkit,
# `induction_circuits`, if it is missing: on Colab run it first, and it takes about a minute
# (it keeps Colab's own torch); on your own machine `make lab` (see the README) has installed
# it already, and the cell does nothing. Then run the next cell: it imports what this notebook uses,
# loads the trained model, and prints one line that says whether you have a GPU. Nothing here
# needs one.
#
# **Which TransformerLens.** The course uses TransformerLens 4, whose `TransformerBridge` wraps
# a model (a Hugging Face one such as GPT-2, or the toy model's own PyTorch modules) and gives
# it TransformerLens's hook names, activation cache and weight attributes. Most tutorials
# online, ARENA's among them, were written for versions 1 to 3 and their `HookedTransformer`,
# which version 4 removed, with `HookedTransformerConfig` and `transformer_lens.utils`: their
# first line, `HookedTransformer.from_pretrained("gpt2")`, stops with an `ImportError` here.
# Their ideas carry over, and so does most of their code once a model is loaded
# (`run_with_cache`, `cache["pattern", layer]`, `W_Q`, `OV`, hooks by name). What changes is
# the loading (`TransformerBridge.boot_transformers("gpt2")`, which `load_gpt2` does for you),
# the configuration, and a few helpers (`get_act_name` now lives in
# `transformer_lens.utilities`). The bridge also runs GPT-2 exactly as Hugging Face does, so
# its numbers can differ a little from a tutorial's unless you call
# `enable_compatibility_mode()`.

# %% nbgrader={"grade": false, "grade_id": "code_setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import math

import matplotlib.pyplot as plt
import torch

from induction_circuits.data import periodic_tokens, token_labels
from induction_circuits.model import SHIPPED_CHECKPOINTS, load_checkpoint, make_model
from induction_circuits.setup import load_gpt2, start

torch.set_grad_enabled(False)  # this notebook only looks inside models; nothing is trained
device = start()
model = load_checkpoint(SHIPPED_CHECKPOINTS["induction"], device)

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_model", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1 · A model to look inside
#
# `model` is the course's toy transformer, already trained (you train your own in notebook
# 3): 2 layers of 4 attention heads, no MLPs, no LayerNorm, a vocabulary of 64 tokens shown
# as two-letter labels. It was trained on random token blocks that repeat. It runs on
# **TransformerLens**, a library for looking inside transformers: every weight is an
# attribute (`model.W_E`, `model.W_U`, ...), and `model.run_with_cache(tokens)` returns the
# logits together with a `cache` of every intermediate activation, looked up by name.
# `periodic_tokens(batch, period, length)` makes a batch of repeating sequences. Feed the
# model 16 sequences of 25 random tokens followed by the same 25 again, and cache everything:

# %% nbgrader={"grade": false, "grade_id": "code_run_with_cache", "locked": true, "schema_version": 3, "solution": false, "task": false}
tokens = periodic_tokens(16, 25, 50, generator=torch.Generator().manual_seed(0), device=device)
logits, cache = model.run_with_cache(tokens)
print(" ".join(token_labels(tokens[0])))
print("logits", tuple(logits.shape), "| cached activations:", len(cache))

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_stream_sum", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2 · The stream is a sum
#
# In TransformerLens's convention, activations are row vectors and weights multiply on the
# right. The stream at a position starts as the token's embedding plus its position's
# embedding, and each attention layer adds its output. (A layer is 4 heads; each head
# reads the stream at the current and earlier positions and adds what it finds to the
# current one. Notebook 2 opens a head up.)
#
# $$x_0 = W_E[t] + W_{pos}[p], \qquad x_{\ell+1} = x_\ell + \mathrm{attn}_\ell(x_\ell), \qquad \text{logits} = x_L W_U + b_U .$$
#
# ($W_U$ and $b_U$ are the **unembedding**, which turns a stream vector into one score per
# token; section 3 uses it at every depth.)
#
# Nothing is ever overwritten: the final stream is the embeddings plus everything every
# layer wrote. The cache stores the stream before each layer (`blocks.{l}.hook_resid_pre`)
# and after it (`blocks.{l}.hook_resid_post`). Check the sum with TransformerLens's own
# decomposition: `cache.decompose_resid` splits the final stream into the embedding, the
# positional embedding and each layer's attention output.
#
# The cell's second check goes one step finer, to single heads. `cache.stack_head_results`
# returns each head's own output, but a layer's output is its heads' outputs *plus* one bias
# vector, the attention output bias `model.b_O[l]` (64 numbers), which the layer adds once,
# whatever its heads did, and which belongs to no single head. Each layer adds its own, so
# the final stream holds all of them: `model.b_O` has shape `[n_layers, d_model]`, and
# `model.b_O.sum(0)` is their total, the one piece the heads' outputs and the embeddings
# leave out.

# %% nbgrader={"grade": false, "grade_id": "code_decompose_resid", "locked": true, "schema_version": 3, "solution": false, "task": false}
parts, labels = cache.decompose_resid(return_labels=True)
final = cache[f"blocks.{model.cfg.n_layers - 1}.hook_resid_post"]
print(labels)
print("parts add up to the final stream:", torch.allclose(parts.sum(0), final, atol=1e-4))

# Finer still: each head's own output, plus the output biases, is each layer's output.
heads, head_labels = cache.stack_head_results(return_labels=True)
total_bias = model.b_O.sum(0)
print("heads + biases + embeddings add up too:",
      torch.allclose(heads.sum(0) + total_bias + parts[0] + parts[1], final, atol=1e-4))


# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_decompose_resid", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** `True` twice. Because the stream is a plain sum, you can ask how much
# any single piece (a head, the embedding) contributes to the output, and you can decode
# the stream part-way through, which is the next idea.
#
# ### Exercise 1 ★ · `residual_stack`
#
# Write `residual_stack(cache)`: the stream before the first layer and after every layer,
# stacked into one tensor of shape `[n_layers + 1, batch, pos, d_model]` (`d_model`, the
# width of the stream, is 64 in the toy model; so is its vocabulary, `d_vocab`, which is why
# the lens's shape in exercise 2 prints the same four numbers). Entry 0 is the
# stream after the embeddings (before layer 0); entry `l + 1` is the stream after layer `l`.
# Work out the number of layers from the cache; do not assume 2.
#
# *Hint:* `cache["blocks.0.hook_resid_pre"]` and `cache[f"blocks.{l}.hook_resid_post"]`;
# `cache.model.cfg.n_layers` gives the layer count, and `torch.stack` joins the snapshots.

# %% nbgrader={"grade": false, "grade_id": "residual_stack", "locked": false, "schema_version": 3, "solution": true, "task": false}
def residual_stack(cache):
    ### BEGIN SOLUTION
    n_layers = cache.model.cfg.n_layers
    snapshots = [cache["blocks.0.hook_resid_pre"]]
    snapshots += [cache[f"blocks.{layer}.hook_resid_post"] for layer in range(n_layers)]
    return torch.stack(snapshots)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_residual_stack", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
_stack = residual_stack(cache)
assert _stack.shape == (3, 16, 50, 64), f"expected (n_layers + 1, batch, pos, d_model) = (3, 16, 50, 64), got {tuple(_stack.shape)}"
assert torch.allclose(_stack[0], cache["hook_embed"] + cache["hook_pos_embed"], atol=1e-5), \
    "entry 0 should be the stream before layer 0: token plus position embedding"
assert torch.allclose(_stack[-1], final, atol=1e-5), "the last entry should be the stream after the last layer"
print("residual_stack passed the visible test")
### BEGIN HIDDEN TESTS
def _check_residual_stack():
    deep = make_model(seed=5, n_layers=3)
    toks = periodic_tokens(2, 7, 20, generator=torch.Generator().manual_seed(3))
    _, deep_cache = deep.run_with_cache(toks)
    got = residual_stack(deep_cache)
    assert tuple(got.shape) == (4, 2, 20, 64), \
        f"a 3-layer model has 4 snapshots: expected (4, 2, 20, 64), got {tuple(got.shape)}"
    expected = [deep_cache["blocks.0.hook_resid_pre"]] + [deep_cache[f"blocks.{l}.hook_resid_post"] for l in range(3)]
    for i, snap in enumerate(expected):
        assert torch.allclose(got[i], snap, atol=1e-5), f"entry {i} is not the stream {'before layer 0' if i == 0 else f'after layer {i - 1}'}"
_check_residual_stack()
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "code_stack_vs_accumulated", "locked": true, "schema_version": 3, "solution": false, "task": false}
stack = residual_stack(cache)
print("shape", tuple(stack.shape))
print("same as TransformerLens's cache.accumulated_resid():",
      torch.allclose(stack, cache.accumulated_resid(), atol=1e-5))

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_stack_vs_accumulated", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** shape `(3, 16, 50, 64)` and `True`: TransformerLens's own
# `accumulated_resid` stacks the same snapshots.

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_logit_lens", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3 · The logit lens
#
# The unembedding $W_U$ turns the *final* stream into logits. Nothing stops us applying it
# to the stream at an earlier depth: "if the model had to answer now, with what it has so
# far, what would it say?" That is the **logit lens**. It works because every layer writes
# into the same space the unembedding reads: a layer that has "decided" on a token tends to
# push the stream towards that token's unembedding direction straight away.
#
# Models with a final LayerNorm (GPT-2 has `ln_final`) apply it before unembedding, so the
# lens must too, and it must treat each snapshot as if it were the final stream:
# `cache.apply_ln_to_stack(stack, recompute_ln=True)` normalises each entry with its *own*
# mean and scale and applies the norm's learned weight and bias, exactly what `ln_final`
# would do to it. The default, `recompute_ln=False`, divides every entry by the scale the
# final stream had and applies neither weight nor bias. That suits pieces that add up to the
# final stream (what `cache.decompose_resid` returns), not whole streams at other depths;
# and on GPT-2, as TransformerLens loads it, leaving out `ln_final`'s weight and bias breaks
# even the last depth. Our toy model has no LayerNorm, so both leave its stack unchanged. To
# see the difference, give a fresh copy of the toy model a final LayerNorm whose weight and
# bias are not 1 and 0 (GPT-2's are not):

# %% nbgrader={"grade": false, "grade_id": "code_layernorm_model", "locked": true, "schema_version": 3, "solution": false, "task": false}
ln_model = make_model(seed=1, normalization_type="LN", device=device)
ln_model.ln_final.weight.copy_(0.5 + torch.rand(64, generator=torch.Generator().manual_seed(1)).to(device))
ln_model.ln_final.bias.copy_(0.1 * torch.randn(64, generator=torch.Generator().manual_seed(2)).to(device))
ln_logits, ln_cache = ln_model.run_with_cache(tokens)
for recompute in (True, False):
    decoded = ln_cache.apply_ln_to_stack(ln_cache.accumulated_resid(), recompute_ln=recompute) @ ln_model.W_U + ln_model.b_U
    print(f"recompute_ln={recompute}: last depth against the model's logits, largest difference "
          f"{(decoded[-1] - ln_logits).abs().max().item():.1e}")


# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_layernorm_model", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** a difference of 0 with `recompute_ln=True` and about 1 without: only the
# recomputed norm decodes the last depth into the model's own output. The lens below uses
# `recompute_ln=True`.
#
# ### Exercise 2 ★ · `logit_lens`
#
# Write `logit_lens(model, cache)`: take `residual_stack(cache)`, apply the final norm with
# `cache.apply_ln_to_stack(..., recompute_ln=True)`, and unembed with `model.W_U` and
# `model.b_U`. Return logits of shape `[n_layers + 1, batch, pos, d_vocab]`.
#
# *Hint:* `@` multiplies the last dimension of the stack by the first of `W_U`; broadcasting
# adds `b_U`.

# %% nbgrader={"grade": false, "grade_id": "logit_lens", "locked": false, "schema_version": 3, "solution": true, "task": false}
def logit_lens(model, cache):
    ### BEGIN SOLUTION
    stack = cache.apply_ln_to_stack(residual_stack(cache), recompute_ln=True)
    return stack @ model.W_U + model.b_U
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_logit_lens", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
def _reference_residual_stack(cache):
    # Graded with this in place of the learner's residual_stack: one mistake costs once.
    n = cache.model.cfg.n_layers
    return torch.stack([cache["blocks.0.hook_resid_pre"]] + [cache[f"blocks.{l}.hook_resid_post"] for l in range(n)])
_learner_residual_stack = globals().get("residual_stack")
residual_stack = _reference_residual_stack
### END HIDDEN TESTS
_lens = logit_lens(model, cache)
assert _lens.shape == (3, 16, 50, 64), f"expected (3, 16, 50, 64), got {tuple(_lens.shape)}"
assert torch.allclose(_lens[-1], logits, atol=1e-4), "the lens on the final stream must reproduce the model's logits"
print("logit_lens passed the visible test")
### BEGIN HIDDEN TESTS
def _check_logit_lens():
    with_norm = make_model(seed=6, n_layers=3, normalization_type="LN")  # has a final LayerNorm, like GPT-2
    with torch.no_grad():  # ...whose weight and bias are not 1 and 0, as GPT-2's are not
        for p in with_norm.ln_final.parameters():
            p.add_(0.5 * torch.randn(p.shape, generator=torch.Generator().manual_seed(7)))
    toks = periodic_tokens(2, 9, 30, generator=torch.Generator().manual_seed(4))
    norm_logits, norm_cache = with_norm.run_with_cache(toks)
    got = logit_lens(with_norm, norm_cache)
    assert tuple(got.shape) == (4, 2, 30, 64), f"expected (4, 2, 30, 64), got {tuple(got.shape)}"
    assert torch.allclose(got[-1], norm_logits, atol=1e-4), \
        "on a model with a final LayerNorm the last lens entry must equal its logits: apply cache.apply_ln_to_stack with recompute_ln=True"
    deep = make_model(seed=6, n_layers=3)
    deep_logits, deep_cache = deep.run_with_cache(toks)
    got = logit_lens(deep, deep_cache)
    assert torch.allclose(got[-1], deep_logits, atol=1e-4), "the last lens entry must equal the model's logits"
    direct = (deep_cache["hook_embed"] + deep_cache["hook_pos_embed"]) @ deep.W_U + deep.b_U
    assert torch.allclose(got[0], direct, atol=1e-4), "entry 0 decodes the embeddings alone: (W_E[t] + W_pos[p]) W_U + b_U"
    with torch.no_grad():
        deep.b_U.add_(1.0)
    assert torch.allclose(logit_lens(deep, deep_cache)[0], direct + 1.0, atol=1e-4), "include the unembedding bias b_U"
_check_logit_lens()
residual_stack = _learner_residual_stack
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "code_lens_vs_logits", "locked": true, "schema_version": 3, "solution": false, "task": false}
lens = logit_lens(model, cache)
print("largest difference between the last depth and the model's logits:",
      f"{(lens[-1] - logits).abs().max().item():.1e}")


# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_lens_vs_logits", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** a difference of 0, or around 1e-6 from float rounding: decoded at
# the last depth, the lens *is* the model's output. The earlier depths are where it gets interesting.

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_where_answer_appears", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 4 · Where does the answer appear?
#
# In the second half of a 25+25 sequence every next token is known from the first half.
# Decode each depth and measure how often its top prediction is right there.
#
# ### Exercise 3 ★★ · `lens_accuracy`
#
# Write `lens_accuracy(lens_logits, tokens, half_len)`: for each depth, the fraction of
# **predictable** positions where the top-1 prediction is the true next token. Return a
# tensor of shape `[n_layers + 1]`.
#
# Logits at position $i$ predict token $i + 1$, and the predictable ones are tokens `half_len + 1` to `2 * half_len - 1` (the first token of the repeat is not
# predictable: nothing announces it). So use the logits at positions `half_len` to
# `2 * half_len - 2`, against tokens `half_len + 1` to `2 * half_len - 1`, averaged over the
# batch and those positions.
#
# *Hint:* `lens_logits[:, :, half_len:2 * half_len - 1].argmax(-1)` has shape
# `[depth, batch, half_len - 1]`; compare it with `tokens[:, half_len + 1:2 * half_len]`
# (broadcasting adds the depth dimension). The comparison gives a tensor of booleans, and
# torch will not average booleans: turn it into 0s and 1s with `.float()` first, then take
# `.mean(...)` over the batch and position dimensions. Write both ends of each slice:
# `half_len:-1` is the same only when a sequence is exactly `2 * half_len` tokens long.

# %% nbgrader={"grade": false, "grade_id": "lens_accuracy", "locked": false, "schema_version": 3, "solution": true, "task": false}
def lens_accuracy(lens_logits, tokens, half_len):
    ### BEGIN SOLUTION
    predictions = lens_logits[:, :, half_len:2 * half_len - 1].argmax(-1)
    targets = tokens[:, half_len + 1:2 * half_len]
    return (predictions == targets).float().mean((1, 2))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_lens_accuracy", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
_tokens = torch.tensor([[0, 1, 2, 0, 1, 2]])
_logits = torch.zeros(2, 1, 6, 4)
_logits[1, 0, 3, 1] = 5.0  # depth 1 at position 3 predicts token 1: right (token 4 is 1)
_logits[1, 0, 4, 3] = 5.0  # depth 1 at position 4 predicts token 3: wrong (token 5 is 2)
_logits[0, 0, :, 0] = 5.0  # depth 0 always predicts token 0: wrong at both positions
_acc = lens_accuracy(_logits, _tokens, 3)
assert tuple(_acc.shape) == (2,), f"one accuracy per depth: expected shape (2,), got {tuple(_acc.shape)}"
assert torch.allclose(_acc.float(), torch.tensor([0.0, 0.5])), f"expected [0.0, 0.5], got {_acc.tolist()}"
print("lens_accuracy passed the visible test")
### BEGIN HIDDEN TESTS
def _check_lens_accuracy():
    g = torch.Generator().manual_seed(8)
    toks = periodic_tokens(5, 6, 12, generator=g)
    lens = torch.randn(3, 5, 12, 64, generator=g)
    # depth 2 knows every next token; depth 1 knows the first half's next tokens only
    for i in range(11):
        lens[2, torch.arange(5), i, toks[:, i + 1]] = 100.0
        if i < 6:
            lens[1, torch.arange(5), i, toks[:, i + 1]] = 100.0
    acc = lens_accuracy(lens, toks, 6).float()
    assert abs(acc[2].item() - 1.0) < 1e-6, "a depth that knows every next token scores 1"
    assert acc[1].item() < 0.2, "predictions before position half_len must not count"
    lens[0] = -100.0
    lens[0, torch.arange(5), 5, toks[:, 6]] = 100.0  # only the repeat's first token, unpredictable
    assert lens_accuracy(lens, toks, 6)[0].item() < 0.2, "the first token of the repeat is not a predictable position"
    lens[0, torch.arange(5), 6, toks[:, 7]] = 100.0  # the first predictable position
    got = lens_accuracy(lens, toks, 6)[0].item()
    assert abs(got - 1 / 5) < 1e-6, f"one of the 5 predictable positions right: expected 0.2, got {got:.3f}"
_check_lens_accuracy()
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "code_accuracy_by_depth", "locked": true, "schema_version": 3, "solution": false, "task": false}
accuracy = lens_accuracy(lens, tokens, 25)
for depth, value in enumerate(accuracy.tolist()):
    where = "embeddings only" if depth == 0 else f"after layer {depth - 1}"
    print(f"{where:16s} top-1 accuracy on the repeat: {value:.2f}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_accuracy_by_depth", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** 0.02 from the embeddings alone and after layer 0 (chance is 1 in 64,
# 0.016), and 0.98 after layer 1. Layer 0 does not predict the repeat: in this model it
# passes information about each *previous* token along (notebook 2 finds the head that does
# it), and the answer appears only once layer 1 has read it. Let's see it position by
# position: the probability each depth gives the correct next token, for one sequence.

# %% nbgrader={"grade": false, "grade_id": "code_probability_plot", "locked": true, "schema_version": 3, "solution": false, "task": false}
probs = lens.softmax(-1)[:, 0, :-1].gather(-1, tokens[0, 1:].expand(3, -1)[..., None])[..., 0]
fig, ax = plt.subplots(figsize=(12, 2.6))
image = ax.imshow(probs.cpu(), aspect="auto", cmap="viridis", vmin=0, vmax=1)
ax.set(yticks=range(3), yticklabels=["embeddings", "after layer 0", "after layer 1"],
       xlabel="position (predicting the next token)", title="probability of the correct next token")
ax.axvline(24.5, color="white", linewidth=1)
fig.colorbar(image, ax=ax)
fig.tight_layout()
print(f"after layer 1: mean {probs[2, 25:].mean():.2f} at positions 25 to 48 (lowest {probs[2, 25:].min():.2f}, "
      f"at position {25 + probs[2, 25:].argmin().item()}), "
      f"mean {probs[2, :25].mean():.2f} at positions 0 to 24; before layer 1: at most {probs[:2].max():.2f} anywhere")

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_see_probability_plot", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **You should see** a dark picture except the bottom row right of the white line, which is
# bright: only after layer 1, and only where the sequence repeats (positions 25 to 48), does
# the model know what comes next, with a mean probability of 0.97 there (lowest 0.74, at
# position 25), against 0.01 left of the line and at most 0.03 before layer 1. Position 24,
# just left of the line, stays dark: the first token of the repeat cannot be predicted.
#
# Top predictions at one position of the repeat, depth by depth. The correct next token
# should lead only after layer 1:

# %% nbgrader={"grade": false, "grade_id": "code_one_position", "locked": true, "schema_version": 3, "solution": false, "task": false}
position = 30
print(f"position {position} holds {token_labels(tokens[0, position:position + 1])[0]}; "
      f"the next token is {token_labels(tokens[0, position + 1:position + 2])[0]}")
for depth in range(3):
    top = lens[depth, 0, position].softmax(-1).topk(3)
    guesses = ", ".join(f"{label} {p:.2f}" for label, p in zip(token_labels(top.indices), top.values.tolist()))
    where = "embeddings only" if depth == 0 else f"after layer {depth - 1}"
    print(f"{where:16s} top 3: {guesses}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_gpt2_extra", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 5 · Extra: the lens on GPT-2 small (needs internet)
#
# On a real model the lens shows the same thing on real text. The prompt below introduces a
# name and then repeats its first word; after "Ada" again the model should predict the
# surname it saw. `load_gpt2` downloads GPT-2 small (500 MB) from the Hugging Face hub, or
# takes it from your Hugging Face cache when it is there (so a classroom can fetch it once
# and go offline: the README says how); with neither, it prints one line and returns `None`,
# and this section is skipped.

# %% nbgrader={"grade": false, "grade_id": "code_gpt2_lens", "locked": true, "schema_version": 3, "solution": false, "task": false}
gpt2 = load_gpt2(device)
if gpt2 is not None:
    prompt = "Yesterday Ada Lovelace gave a talk on engines. Afterwards, everyone wanted to meet Ada"
    gpt2_tokens = gpt2.to_tokens(prompt)
    gpt2_logits, gpt2_cache = gpt2.run_with_cache(gpt2_tokens)
    gpt2_lens = logit_lens(gpt2, gpt2_cache)[:, 0, -1]
    for depth, row in enumerate(gpt2_lens):
        top = row.softmax(-1).topk(3)
        words = ", ".join(f"{gpt2.to_string(i)!r} {p:.2f}" for i, p in zip(top.indices, top.values.tolist()))
        print(f"{'embed' if depth == 0 else f'after layer {depth - 1}':>14}: {words}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_about_written_lens", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **What to look for** (with internet; the course's tests run offline, so this section
# promises no numbers): which words lead in the first layers (common ones like `' and'` or
# `','`, most likely), and whether `' Love'` (GPT-2's first token of "Lovelace") comes to
# lead, and from which layer on.
# GPT-2's induction heads sit in layers 5 to 7 (notebook 4 finds them); if they do the
# copying, as layer 1 does in the toy model, `' Love'` should not lead before layer 5.
#
# ### Written question (graded by hand)
#
# The lens gives almost no accuracy after layer 0 and almost full accuracy after layer 1.
# What does that tell you about which layer does the copying, and why can the lens not
# tell you *how* layer 1 does it?
# ### BEGIN MARK SCHEME
# **Marking guide (2 points, graders only).**
#
# *Model answer.* The answer enters the stream in layer 1. The stream is a sum, so the only
# difference between the stream after layer 0 (top-1 accuracy about 0.02, chance) and after
# layer 1 (about 0.98) is layer 1's output: layer 1 writes the next token. The lens decodes
# only the summed stream at fixed depths. It shows what is there, not which heads wrote it,
# where they attended, or what earlier information they used (here, layer 0's record of each
# previous token). Attention patterns, per-head decompositions and ablations answer those
# questions.
#
# *Rubric.*
# - 1 point: layer 1 does the copying, argued from the jump (about 0.02 after layer 0, about
#   0.98 after layer 1) and from the stream being a sum, so the change is layer 1's output.
# - 1 point: the lens reads only the content of the summed stream, so it cannot show which
#   heads wrote it, where they looked, or that they rely on layer 0's previous-token
#   information; naming a method that can (patterns, per-head outputs, ablation) fits here.
# - Common wrong answer: "layer 0 does nothing". Low accuracy after layer 0 means it does
#   not predict yet, not that it is unused; this claim alone earns no credit for the second
#   point.
# ### END MARK SCHEME

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_lens", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# See the model answer in the marking guide of the question above.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "md_recap", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Recap
#
# - The residual stream is a sum: embeddings plus every head's output. Every layer reads it
#   and adds to it.
# - The logit lens decodes the stream at any depth through the final norm (recomputed for
#   that depth: `recompute_ln=True`) and the unembedding. The last depth reproduces the
#   model's logits.
# - In the toy model the answer to a repeated sequence appears only after layer 1; layer 0
#   prepares it without predicting it.
#
# Next, in notebook 2, you read the circuit straight from the weights.
#
# ### Recap questions (auto-graded)
#
# 1. `recap_n_snapshots`: how many entries does `residual_stack` return for a 12-layer model?
# 2. `recap_copy_layer`: which layer's output (0 or 1) makes the toy model's predictions on
#    the repeat correct?
# 3. `recap_unpredictable_position`: in a 25+25 sequence, the logits at which position
#    predict the first token of the repeat (which no model can know)?

# %% nbgrader={"grade": false, "grade_id": "recap_answers", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
recap_n_snapshots = 13
recap_copy_layer = 1
recap_unpredictable_position = 24
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_recap", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
assert all(isinstance(x, (int, float)) and float(x).is_integer()
           for x in (recap_n_snapshots, recap_copy_layer, recap_unpredictable_position)), \
    "each recap answer should be a whole number"
print("recap answers have the right types (the grader checks their values)")
### BEGIN HIDDEN TESTS
assert recap_n_snapshots == 13, "recap 1: one before the first layer, one after each layer"
assert recap_copy_layer == 1, "recap 2: look at the accuracy after each layer"
assert recap_unpredictable_position == 24, "recap 3: logits at position i predict token i + 1"
### END HIDDEN TESTS
