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
    model.eval()  # no dropout while generating
    with torch.no_grad():
        state = model.begin_state(1)
        for t in tokens[1:]:
            _, state = model(torch.tensor([[out[-1]]]), state)
            out.append(vocab[t])
        for _ in range(num_preds):
            logits, state = model(torch.tensor([[out[-1]]]), state)
            out.append(int(logits.argmax(dim=1).reshape(1)))
    return ('' if token == 'char' else ' ').join(vocab.to_tokens(out))


def scheduled_rate(name, base_lr, step, total_steps, warmup_steps=0, min_lr=0.0, time_fraction=0.0):
    """rnnlm's LrSchedule.rate (packages/train/src/schedule.ts) for `constant` and `cosine`: the rate of
    the update after `step` updates; cosine falls along half a cosine from base_lr to min_lr over
    total_steps (warm-up included), or over the time budget when time_fraction (the share of it spent,
    `rnnlm train --anneal-to-budget`) is further along; any schedule rises linearly over the first
    warmup_steps."""
    floor = min(min_lr, base_lr)
    lr = base_lr
    if name == 'cosine':
        span = max(1, total_steps - warmup_steps)
        by_batches = min(1.0, max(0, step - warmup_steps) / span)
        progress = max(by_batches, min(1.0, max(0.0, time_fraction)))
        lr = floor + (base_lr - floor) * 0.5 * (1 + math.cos(math.pi * progress))
    elif name != 'constant':
        raise ValueError(f'unknown schedule {name!r}: expected constant or cosine')
    if step < warmup_steps:
        lr *= (step + 1) / warmup_steps
    return max(lr, 0.0 if step < warmup_steps else floor)


def max_batches_per_epoch(tokens, batch_size, num_steps):
    """rnnlm's SeqDataLoader.maxBatchesPerEpoch for sequential sampling (the cosine's length counts them)."""
    return ((tokens - 1) // batch_size) // num_steps


def evaluate_perplexity(model, ids, batch_size, num_steps, loss_fn):
    """rnnlm's evaluatePerplexity: up to batch_size contiguous rows walked num_steps at a time with the
    state carried, every predicted token counted once; in eval mode (no dropout)."""
    rows = max(1, min(batch_size, (len(ids) - 1) // num_steps))
    row_length = (len(ids) - 1) // rows
    data = torch.tensor(ids[:rows * row_length + 1])
    xs = data[:rows * row_length].reshape(rows, row_length)
    ys = data[1:rows * row_length + 1].reshape(rows, row_length)
    model.eval()
    loss_sum, count = 0.0, 0
    with torch.no_grad():
        state = model.begin_state(rows)
        for start in range(0, row_length, num_steps):
            X, Y = xs[:, start:start + num_steps], ys[:, start:start + num_steps]
            logits, state = model(X, state)
            y = Y.T.reshape(-1)
            loss_sum += loss_fn(logits, y).mean().item() * y.numel()
            count += y.numel()
    model.train()
    return math.exp(loss_sum / count)


@dataclass
class BudgetSettings:
    """A run under a wall-clock budget, as `rnnlm train --time-budget --valid-every` runs one."""
    batch_size: int
    num_steps: int
    lr: float
    epochs: int
    budget_s: float
    valid_every: int
    optimizer: str = 'adam'
    schedule: str = 'cosine'
    warmup_steps: int = 0
    min_lr: float = 0.0
    clip: float = 1.0
    # The cosine falls over whichever ends first, the epochs or the budget (rnnlm's --anneal-to-budget).
    anneal_to_budget: bool = False


def fit_for_time(model, train_ids, valid_ids, settings, rng, on_validation=None):
    """Trains until settings.epochs are done or the budget is spent (checked after each batch, as the
    CLI's clock), validating every settings.valid_every batches of an epoch and at each epoch's end.
    The clock runs from the first batch and includes validation. Returns the validations as
    {seconds, step, epoch, batch, valid_perplexity} dicts (batch: of its epoch)."""
    params = list(model.parameters())
    make = torch.optim.Adam if settings.optimizer == 'adam' else torch.optim.SGD
    optimizer = make(params, lr=settings.lr)
    loss_fn = nn.CrossEntropyLoss()
    total_steps = max(1, settings.epochs * max_batches_per_epoch(len(train_ids), settings.batch_size,
                                                                 settings.num_steps))
    validations = []
    started = time.perf_counter()
    step = 0

    def validate(epoch, batch):
        ppl = evaluate_perplexity(model, valid_ids, settings.batch_size, settings.num_steps, loss_fn)
        entry = {'seconds': round(time.perf_counter() - started, 2), 'step': step, 'epoch': epoch,
                 'batch': batch, 'valid_perplexity': round(ppl, 4)}
        validations.append(entry)
        if on_validation:
            on_validation(entry)

    model.train()
    for epoch in range(1, settings.epochs + 1):
        state, batch = None, 0
        for batch, (X, Y) in enumerate(sequential_batches(train_ids, settings.batch_size,
                                                          settings.num_steps, rng), start=1):
            state = model.begin_state(X.shape[0]) if state is None else detach(state)
            y = Y.T.reshape(-1)
            logits, state = model(X, state)
            loss = loss_fn(logits, y).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            clip_gradients(params, settings.clip)
            spent = (time.perf_counter() - started) / settings.budget_s if settings.anneal_to_budget else 0.0
            for group in optimizer.param_groups:
                group['lr'] = scheduled_rate(settings.schedule, settings.lr, step, total_steps,
                                             settings.warmup_steps, settings.min_lr, spent)
            optimizer.step()
            step += 1
            if not math.isfinite(loss.item()):
                raise FloatingPointError(f'training diverged at epoch {epoch}, batch {batch}')
            if time.perf_counter() - started >= settings.budget_s:
                if settings.anneal_to_budget:  # the model at the lowest rates, as rnnlm measures it
                    validate(epoch, batch)
                return validations
            if settings.valid_every and batch % settings.valid_every == 0:
                validate(epoch, batch)
        validate(epoch, batch)
    return validations
