"""The visible test after each exercise catches the common mistakes, with a message that says what is wrong.

Each case runs the release notebook, filled in with the solutions except one plausible
mistake, up to that exercise's test cell, and expects the visible part of the test to fail.
"""
import nbformat
import pytest
from nbclient import NotebookClient

from nbtools import metadata, student_submission

pytestmark = pytest.mark.slow

MISTAKES = {
    "composition_score dividing by the sum of norms": ("02_qk_ov_circuits", "composition_score", """
def composition_score(W_A, W_B):
    return (torch.linalg.norm(W_A @ W_B) / (torch.linalg.norm(W_A) + torch.linalg.norm(W_B))).item()
""", "test_composition_score", "0.707"),
    "top1_diagonal_accuracy looking down columns": ("02_qk_ov_circuits", "top1_diagonal_accuracy", """
def top1_diagonal_accuracy(matrix):
    dense = getattr(matrix, "AB", matrix)
    return (dense.argmax(0) == torch.arange(dense.shape[0])).float().mean().item()
""", "test_top1_diagonal_accuracy", "along each row"),
    "positional_attention without biases": ("02_qk_ov_circuits", "positional_attention", """
def positional_attention(model, layer, head):
    scores = (model.W_pos @ model.W_Q[layer, head]) @ (model.W_pos @ model.W_K[layer, head]).T
    scores = scores / math.sqrt(model.cfg.d_head)
    return scores.masked_fill(torch.ones_like(scores, dtype=torch.bool).triu(1), float("-inf")).softmax(-1)
""", "test_positional_attention", "biases"),
    "full_ov_circuit returning a dense tensor": ("02_qk_ov_circuits", "full_ov_circuit", """
def full_ov_circuit(model, layer, head):
    return model.W_E @ model.W_V[layer, head] @ model.W_O[layer, head] @ model.W_U
""", "test_full_ov_circuit", "FactoredMatrix"),
    "positional_attention without the causal mask": ("02_qk_ov_circuits", "positional_attention", """
def positional_attention(model, layer, head):
    q = model.W_pos @ model.W_Q[layer, head] + model.b_Q[layer, head]
    k = model.W_pos @ model.W_K[layer, head] + model.b_K[layer, head]
    return (q @ k.T / math.sqrt(model.cfg.d_head)).softmax(-1)
""", "test_positional_attention", "later positions"),
    "k_composition_scores reading the query side": ("02_qk_ov_circuits", "k_composition_scores", """
def k_composition_scores(model):
    return torch.tensor([[composition_score(model.OV[0, j].AB, model.QK[1, i].AB) for j in range(4)]
                         for i in range(4)])
""", "test_k_composition_scores", "QK^T"),
    "lens_accuracy counting the repeat's first token": ("01_logit_lens", "lens_accuracy", """
def lens_accuracy(lens_logits, tokens, half_len):
    predictions = lens_logits[:, :, half_len - 1:-1].argmax(-1)
    return (predictions == tokens[:, half_len:]).float().mean((1, 2))
""", "test_lens_accuracy", "expected [0.0, 0.5]"),
    "per_token_loss without the shift": ("03_train_induction_model", "per_token_loss", """
def per_token_loss(logits, tokens):
    return F.cross_entropy(logits[:, :-1].transpose(1, 2), tokens[:, :-1], reduction="none")
""", "test_per_token_loss", "tokens[i + 1]"),
    "half_losses split one entry off": ("03_train_induction_model", "half_losses", """
def half_losses(logits, tokens, half_len):
    losses = per_token_loss(logits, tokens)
    return losses[:, :half_len - 1].mean().item(), losses[:, half_len - 1:].mean().item()
""", "test_half_losses", "second half"),
    "train_step without zero_grad": ("03_train_induction_model", "train_step", """
def train_step(model, optimizer, tokens):
    loss = per_token_loss(model(tokens), tokens).mean()
    loss.backward()
    optimizer.step()
    return loss.item()
""", "test_train_step", "clear old gradients"),
    "train_step summing the loss": ("03_train_induction_model", "train_step", """
def train_step(model, optimizer, tokens):
    loss = per_token_loss(model(tokens), tokens).sum()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
""", "test_train_step", "mean of per_token_loss"),
    "train_step on the second half only": ("03_train_induction_model", "train_step", """
def train_step(model, optimizer, tokens):
    loss = per_token_loss(model(tokens), tokens)[:, 25:].mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
""", "test_train_step", "every position"),
    "duplicate_token_score blind to a BOS token": ("04_head_scores", "duplicate_token_score", """
def duplicate_token_score(pattern, half_len):
    return torch.diagonal(pattern, offset=-half_len, dim1=-2, dim2=-1).mean(-1)
""", "test_duplicate_token_score", "BOS token"),
    "detect_heads in layer order": ("04_head_scores", "detect_heads", """
def detect_heads(scores, threshold):
    return [(l, h, float(scores[l, h])) for l in range(scores.shape[0]) for h in range(scores.shape[1])
            if scores[l, h] >= threshold]
""", "test_detect_heads", "highest score first"),
    "detect_heads with a strict threshold": ("04_head_scores", "detect_heads", """
def detect_heads(scores, threshold):
    found = [(l, h, float(scores[l, h])) for l in range(scores.shape[0]) for h in range(scores.shape[1])
             if scores[l, h] > threshold]
    return sorted(found, key=lambda item: -item[2])
""", "test_detect_heads", "at least"),
    "plot_attention_grid with a colour scale per panel": ("05_attention_heatmaps", "plot_attention_grid", """
def plot_attention_grid(patterns, labels=None):
    n_layers, n_heads, seq, _ = patterns.shape
    fig, axes = plt.subplots(n_layers, n_heads, squeeze=False)
    for layer in range(n_layers):
        for head in range(n_heads):
            axes[layer, head].imshow(patterns[layer, head].cpu())
            axes[layer, head].set_title(f"L{layer}H{head}")
            if labels is not None:
                axes[layer, head].set_xticks(range(seq), labels)
                axes[layer, head].set_yticks(range(seq), labels)
    return fig
""", "test_plot_attention_grid", "one colour scale"),
    "mean_ablate_head averaging over positions too": ("06_ablation", "mean_ablate_head", """
def mean_ablate_head(z, hook, head):
    z[:, :, head] = z[:, :, head].mean((0, 1), keepdim=True)
    return z
""", "test_mean_ablate_head", "batch mean"),
    "ablation_table with the sign flipped": ("06_ablation", "ablation_table", """
def ablation_table(model, tokens, half_len, method="zero"):
    clean = per_token_loss(model(tokens), tokens)[:, half_len:].mean().item()
    return torch.tensor([[clean - ablated_second_half_loss(model, tokens, l, h, method)
                          for h in range(model.cfg.n_heads)] for l in range(model.cfg.n_layers)])
""", "test_ablation_table", "raise the loss"),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_visible_test_catches(mistake, tmp_path, monkeypatch):
    assignment, exercise, code, test_cell, hint = MISTAKES[mistake]
    monkeypatch.setenv("INDUCTION_CIRCUITS_HOME", str(tmp_path))
    notebook = student_submission(assignment, answers={exercise: code})
    end = next(i for i, c in enumerate(notebook.cells) if metadata(c).get("grade_id") == test_cell)
    notebook.cells = notebook.cells[:end + 1]
    NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True).execute()
    errors = [o for o in notebook.cells[-1].outputs if o.output_type == "error"]
    assert errors and errors[0].ename == "AssertionError", f"{mistake} passed the visible test"
    assert hint in errors[0].evalue, errors[0].evalue
    earlier = [o for c in notebook.cells[:-1] if c.cell_type == "code" for o in c.outputs
               if o.output_type == "error"]
    assert not earlier, "only the exercise's own test should fail"
