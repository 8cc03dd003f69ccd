"""The visible test after each exercise catches the common mistakes, with a message that says what is wrong.

Each case runs the release notebook, filled in with the solutions except one plausible
mistake, up to that exercise's test cell, and expects the visible part of the test to fail.
"""
import nbformat
import pytest
from nbclient import NotebookClient

from nbtools import answer, metadata, student_submission

pytestmark = pytest.mark.slow

# Each mistake: (assignment, exercise, the answer's case in tests/answers/<assignment>/,
# the test cell that must fail, what its message must say).
MISTAKES = {
    "composition_score dividing by the sum of norms": ("02_qk_ov_circuits", "composition_score", "dividing_by_the_sum_of_norms", "test_composition_score", "0.707"),
    "top1_diagonal_accuracy looking down columns": ("02_qk_ov_circuits", "top1_diagonal_accuracy", "looking_down_columns", "test_top1_diagonal_accuracy", "along each row"),
    "positional_attention without biases": ("02_qk_ov_circuits", "positional_attention", "without_biases", "test_positional_attention", "biases"),
    "full_ov_circuit returning a dense tensor": ("02_qk_ov_circuits", "full_ov_circuit", "returning_a_dense_tensor", "test_full_ov_circuit", "FactoredMatrix"),
    "positional_attention without the causal mask": ("02_qk_ov_circuits", "positional_attention", "without_the_causal_mask", "test_positional_attention", "later positions"),
    "k_composition_scores reading the query side": ("02_qk_ov_circuits", "k_composition_scores", "reading_the_query_side", "test_k_composition_scores", "QK^T"),
    "lens_accuracy counting the repeat's first token": ("01_logit_lens", "lens_accuracy", "wrong", "test_lens_accuracy", "expected [0.0, 0.5]"),
    "per_token_loss without the shift": ("03_train_induction_model", "per_token_loss", "without_the_shift", "test_per_token_loss", "tokens[i + 1]"),
    "half_losses split one entry off": ("03_train_induction_model", "half_losses", "split_one_entry_off", "test_half_losses", "second half"),
    "train_step without zero_grad": ("03_train_induction_model", "train_step", "without_zero_grad", "test_train_step", "clear old gradients"),
    "train_step summing the loss": ("03_train_induction_model", "train_step", "summing_the_loss", "test_train_step", "mean of per_token_loss"),
    "train_step on the second half only": ("03_train_induction_model", "train_step", "on_the_second_half_only", "test_train_step", "every position"),
    "duplicate_token_score blind to a BOS token": ("04_head_scores", "duplicate_token_score", "blind_to_a_bos_token", "test_duplicate_token_score", "BOS token"),
    "detect_heads in layer order": ("04_head_scores", "detect_heads", "in_layer_order", "test_detect_heads", "highest score first"),
    "detect_heads with a strict threshold": ("04_head_scores", "detect_heads", "with_a_strict_threshold", "test_detect_heads", "at least"),
    "plot_attention_grid with a colour scale per panel": ("05_attention_heatmaps", "plot_attention_grid", "with_a_colour_scale_per_panel", "test_plot_attention_grid", "one colour scale"),
    "mean_ablate_head averaging over positions too": ("06_ablation", "mean_ablate_head", "averaging_over_positions_too", "test_mean_ablate_head", "batch mean"),
    "ablation_table with the sign flipped": ("06_ablation", "ablation_table", "with_the_sign_flipped", "test_ablation_table", "raise the loss"),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_visible_test_catches(mistake, tmp_path, monkeypatch):
    assignment, exercise, case, test_cell, hint = MISTAKES[mistake]
    code = answer(assignment, exercise, case)
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
