# ablated_second_half_loss, correct but written differently from the solution: scores full marks.
from transformer_lens.utilities import get_act_name

def ablated_second_half_loss(model, tokens, layer, head, method="zero"):
    if method == "zero":
        fn = lambda z, hook: zero_ablate_head(z, hook, head)
    elif method == "mean":
        fn = lambda z, hook: mean_ablate_head(z, hook, head)
    else:
        raise ValueError(method)
    logits = model.run_with_hooks(tokens, fwd_hooks=[(get_act_name("z", layer), fn)])
    half = tokens.shape[1] // 2
    return float(F.cross_entropy(logits[:, half:-1].reshape(-1, logits.shape[-1]), tokens[:, half + 1:].reshape(-1)))
