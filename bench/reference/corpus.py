"""The d2l notebooks' corpus: cleaning, tokens, vocabulary and sequential minibatches.

Pure Python but for the minibatch tensors, so that the rules can be read (and checked) on their own.
"""
import collections
import re

import torch


def read_lines(path):
    """The lines of a text file cleaned to letters: anything else becomes one space, then lower case.

    As d2l's read_time_machine: `readlines` keeps line ends, which the cleaning turns into spaces and
    `strip` removes.
    """
    with open(path, encoding='utf-8') as f:
        return [re.sub('[^A-Za-z]+', ' ', line).strip().lower() for line in f.readlines()]


def tokenize(lines, token):
    """Characters (`char`) or whitespace-separated words (`word`), line by line."""
    if token == 'char':
        return [list(line) for line in lines]
    if token == 'word':
        return [line.split() for line in lines]
    raise ValueError(f'unknown token kind {token!r}: expected char or word')


class Vocab:
    """`<unk>` at id 0, then the tokens by descending count, ties in order of first appearance.

    A Counter keeps insertion order and `sorted` is stable, which gives the tie rule.
    """

    def __init__(self, lines):
        counts = collections.Counter(t for line in lines for t in line)
        by_count = sorted(counts.items(), key=lambda kv: kv[1], reverse=True)
        self.idx_to_token = ['<unk>'] + [t for t, _ in by_count if t != '<unk>']
        self.token_to_idx = {t: i for i, t in enumerate(self.idx_to_token)}

    def __len__(self):
        return len(self.idx_to_token)

    def __getitem__(self, token):
        return self.token_to_idx.get(token, 0)

    def to_tokens(self, ids):
        return [self.idx_to_token[i] for i in ids]


def load_corpus(path, token, max_tokens):
    """Token ids of the whole text and its vocabulary; `max_tokens` > 0 keeps the first ones.

    The vocabulary is built from the whole text before the cap, as d2l's load_corpus_time_machine.
    """
    lines = tokenize(read_lines(path), token)
    vocab = Vocab(lines)
    ids = [vocab[t] for line in lines for t in line]
    return (ids[:max_tokens] if max_tokens > 0 else ids), vocab


def min_corpus_tokens(batch_size, num_steps):
    """The fewest tokens that give one minibatch whatever the start offset (up to num_steps)."""
    return (batch_size + 1) * num_steps + 1


def sequential_batches(ids, batch_size, num_steps, rng):
    """d2l's seq_data_iter_sequential: one random start offset in [0, num_steps] from `rng`, the rest
    split into `batch_size` rows read left to right, so that each batch continues the one before.

    Yields (inputs, targets), both (batch_size, num_steps) int64, targets shifted by one token.
    """
    offset = rng.randint(0, num_steps)
    n = ((len(ids) - offset - 1) // batch_size) * batch_size
    xs = torch.tensor(ids[offset:offset + n]).reshape(batch_size, -1)
    ys = torch.tensor(ids[offset + 1:offset + 1 + n]).reshape(batch_size, -1)
    for i in range(0, (xs.shape[1] // num_steps) * num_steps, num_steps):
        yield xs[:, i:i + num_steps], ys[:, i:i + num_steps]
