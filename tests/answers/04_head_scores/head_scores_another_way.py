# head_scores, correct but written differently from the solution: scores full marks.
def head_scores(model, tokens, half_len):
    _, cache = model.run_with_cache(tokens, names_filter=lambda name: name.endswith("hook_pattern"))
    out = {"previous": [], "duplicate": [], "induction": []}
    for layer in range(model.cfg.n_layers):
        pattern = cache["pattern", layer]
        out["previous"].append(prev_token_score(pattern).mean(0))
        out["duplicate"].append(duplicate_token_score(pattern, half_len).mean(0))
        out["induction"].append(induction_score(pattern, half_len).mean(0))
    return {name: torch.stack(rows) for name, rows in out.items()}
