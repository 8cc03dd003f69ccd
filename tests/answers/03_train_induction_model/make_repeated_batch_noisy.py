# make_repeated_batch, correct, with a warning, a progress bar and text on stderr: scores full marks.
import sys, warnings
from tqdm.auto import tqdm

def make_repeated_batch(batch_size, half_len, d_vocab, generator=None):
    warnings.warn("a harmless warning, as torch emits")
    for _ in tqdm(range(3)):
        pass
    print("progress...", file=sys.stderr)
    first = torch.randint(0, d_vocab, (batch_size, half_len), generator=generator)
    return torch.cat([first, first], dim=1)
