# verify_induction_head, correct but written differently from the solution: scores full marks.
def verify_induction_head(model, layer, head, half_len):
    device = next(model.parameters()).device
    toks = periodic_tokens(64, half_len, 2 * half_len, generator=torch.Generator().manual_seed(0)).to(device)
    patterns = []
    keep = lambda pattern, hook: patterns.append(pattern[:, head].clone())
    logits = model.run_with_hooks(toks, fwd_hooks=[(f"blocks.{layer}.attn.hook_pattern", keep)])
    queries = torch.arange(half_len, 2 * half_len)
    attention = float(patterns[0][:, queries, queries - half_len + 1].mean())
    def halves(lg):
        losses = per_token_loss(lg, toks)
        return losses[:, :half_len].mean(), losses[:, half_len:].mean()
    first, second = halves(logits)
    ablate = lambda z, hook: zero_ablate_head(z, hook, head)
    first_ablated, second_ablated = halves(model.run_with_hooks(toks, fwd_hooks=[(f"blocks.{layer}.attn.hook_z", ablate)]))
    increase, first_increase = float(second_ablated - second), float(first_ablated - first)
    return {"attention": attention, "loss_increase": increase, "first_half_increase": first_increase,
            "is_induction_head": bool(attention >= 0.4 and increase >= 0.1 and increase > first_increase)}
