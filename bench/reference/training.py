"""d2l's train_ch8: sequential minibatches with the state carried across them (detached, so that
backpropagation stops at the batch boundary), mean cross-entropy, SGD, global-norm clipping to 1;
and its greedy predict_ch8 for the sample."""
import math
import time
from dataclasses import dataclass, field

import torch
from torch import nn

from .corpus import sequential_batches


@dataclass
class TrainSettings:
    batch_size: int
    num_steps: int
    lr: float
    epochs: int
    clip: float = 1.0


@dataclass
class EpochResult:
    epoch: int
    perplexity: float
    tokens: int
    seconds: float


@dataclass
class FitResult:
    epochs: list = field(default_factory=list)
    wall_s: float = 0.0

    def steady_tokens_per_s(self):
        """Tokens per second leaving out the first epoch (warm-up), unless there is only one."""
        steady = self.epochs[1:] or self.epochs
        seconds = sum(e.seconds for e in steady)
        return sum(e.tokens for e in steady) / seconds if seconds > 0 else None


def detach(state):
    """The state's values without their history (tensors in nested tuples)."""
    if isinstance(state, torch.Tensor):
        return state.detach()
    return tuple(detach(s) for s in state)


def clip_gradients(params, max_norm):
    """d2l's grad_clipping: scale all gradients together when their global L2 norm is over max_norm."""
    grads = [p.grad for p in params if p.grad is not None]
    norm = torch.sqrt(sum(torch.sum(g**2) for g in grads))
    if norm > max_norm:
        for g in grads:
            g[:] *= max_norm / norm


def train_epoch(model, ids, settings, rng, optimizer, loss_fn):
    """One pass over the corpus; returns (perplexity, tokens)."""
    params = list(model.parameters())
    state = None
    loss_sum, tokens = 0.0, 0
    for X, Y in sequential_batches(ids, settings.batch_size, settings.num_steps, rng):
        state = model.begin_state(X.shape[0]) if state is None else detach(state)
        y = Y.T.reshape(-1)  # step-major, as the model's outputs
        logits, state = model(X, state)
        loss = loss_fn(logits, y).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        clip_gradients(params, settings.clip)
        optimizer.step()
        loss_sum += loss.item() * y.numel()
        tokens += y.numel()
    return math.exp(loss_sum / tokens), tokens


def fit(model, ids, settings, rng, on_epoch_end=None):
    """Trains for settings.epochs epochs, timing each on the wall clock (what on_epoch_end does, such
    as printing, is not counted)."""
    # d2l's sgd(params, lr, batch_size=1) on the mean loss is plain SGD.
    optimizer = torch.optim.SGD(model.parameters(), lr=settings.lr)
    loss_fn = nn.CrossEntropyLoss()
    result = FitResult()
    started = time.perf_counter()
    for epoch in range(1, settings.epochs + 1):
        t0 = time.perf_counter()
        perplexity, tokens = train_epoch(model, ids, settings, rng, optimizer, loss_fn)
        epoch_result = EpochResult(epoch, perplexity, tokens, time.perf_counter() - t0)
        result.epochs.append(epoch_result)
        if on_epoch_end:
            on_epoch_end(epoch_result, time.perf_counter() - started)
    result.wall_s = time.perf_counter() - started
    return result


def predict(model, vocab, prefix, num_preds, token):
    """Warms the state up on the prefix, then appends the most likely next token num_preds times."""
    tokens = list(prefix) if token == 'char' else prefix.split()
    out = [vocab[tokens[0]]]
    with torch.no_grad():
        state = model.begin_state(1)
        for t in tokens[1:]:
            _, state = model(torch.tensor([[out[-1]]]), state)
            out.append(vocab[t])
        for _ in range(num_preds):
            logits, state = model(torch.tensor([[out[-1]]]), state)
            out.append(int(logits.argmax(dim=1).reshape(1)))
    return ('' if token == 'char' else ' ').join(vocab.to_tokens(out))
