# residual_stack, correct but written differently from the solution: scores full marks.
def residual_stack(cache):
    return cache.accumulated_resid()
