"""Generation speed of the notebooks' models, eager and without gradients: warm the state up on a
prefix, then sample each next token from softmax(logits / temperature) and feed it back in, one token
per call as d2l's predict_ch8 does; n sequences at once when batch > 1 (one call per step for all).

Generation speed does not depend on what the weights are, so the model is not trained: its shape
(cell, layers, hidden, vocabulary) is what is measured.
"""
import time

import torch
from torch.nn import functional as F


def generation_speed(model, vocab_size, batch, length, temperature, warmup, seed):
    """Tokens per second of every sequence together (batch * length / seconds), the first `warmup`
    steps left out, on the wall clock and in this process's CPU time (steadier on a shared machine);
    returns (tokens_per_s, cpu_tokens_per_s)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        state = model.begin_state(batch)
        x = torch.zeros((batch, 1), dtype=torch.long)
        start = None
        for step in range(warmup + length):
            if step == warmup:
                start, cpu_start = time.perf_counter(), time.process_time()
            logits, state = model(x, state)
            if temperature > 0:
                probs = F.softmax(logits / temperature, dim=1)
                x = torch.multinomial(probs, 1, generator=gen)
            else:
                x = logits.argmax(dim=1, keepdim=True)
        seconds = time.perf_counter() - start
        cpu_seconds = time.process_time() - cpu_start
    # A token id is always in the vocabulary; the check keeps the sampled ids honest.
    assert int(x.max()) < vocab_size
    return batch * length / seconds, batch * length / cpu_seconds
