# logit_lens, correct but written differently from the solution: scores full marks.
def logit_lens(model, cache):
    stack = cache.apply_ln_to_stack(residual_stack(cache), layer=-1, recompute_ln=True)
    return torch.einsum("lbpd,dv->lbpv", stack, model.W_U) + model.b_U
