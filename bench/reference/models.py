"""The notebooks' language models: hand-written cells (d2l's RNNModelScratch, stacked as its
StackedRNNScratch) and torch.nn recurrent layers with a linear head (d2l's RNNModel).

Both take a (batch, steps) batch of token ids and a state, and return the logits of every step,
(steps * batch, vocab) in step-major order, with the new state.

Dropout (rnnlm's `--dropout`, Zaremba et al. 2014): in training, each layer's output is dropped on its
way to the layer above and to the head (inverted dropout, a fresh mask per step); the recurrent path is
left alone. `train()` and `eval()` switch it on and off, as torch.nn's. With `dropout_mode` variational
(rnnlm's `--dropout-mode variational`, Gal and Ghahramani 2016) the torch.nn models draw one mask per
sequence and connection, shared by all its steps.
"""
import torch
from torch import nn
from torch.nn import functional as F

# The cells, in d2l's notation; `w` holds (W_x, W_h, b) for each gate, in d2l's gate order.
def rnn_cell(x, state, w):
    W_xh, W_hh, b_h = w
    (H,) = state
    return (torch.tanh(x @ W_xh + H @ W_hh + b_h),)


def gru_cell(x, state, w):
    W_xz, W_hz, b_z, W_xr, W_hr, b_r, W_xh, W_hh, b_h = w
    (H,) = state
    Z = torch.sigmoid(x @ W_xz + H @ W_hz + b_z)
    R = torch.sigmoid(x @ W_xr + H @ W_hr + b_r)
    H_tilde = torch.tanh(x @ W_xh + (R * H) @ W_hh + b_h)
    return (Z * H + (1 - Z) * H_tilde,)


def lstm_cell(x, state, w):
    W_xi, W_hi, b_i, W_xf, W_hf, b_f, W_xo, W_ho, b_o, W_xc, W_hc, b_c = w
    H, C = state
    I = torch.sigmoid(x @ W_xi + H @ W_hi + b_i)  # noqa: E741 (d2l's name)
    Fg = torch.sigmoid(x @ W_xf + H @ W_hf + b_f)
    O = torch.sigmoid(x @ W_xo + H @ W_ho + b_o)  # noqa: E741
    C_tilde = torch.tanh(x @ W_xc + H @ W_hc + b_c)
    C = Fg * C + I * C_tilde
    return (O * torch.tanh(C), C)


# name: (step function, gates, state tensors)
SCRATCH_CELLS = {'rnn': (rnn_cell, 1, 1), 'gru': (gru_cell, 3, 1), 'lstm': (lstm_cell, 4, 2)}


def _normal(*shape):
    return (torch.randn(*shape) * 0.01).requires_grad_()


def _zeros(*shape):
    return torch.zeros(*shape).requires_grad_()


class ScratchModel:
    """Hand-written cells run step by step on one-hot inputs; layer l > 0 reads the hidden state of
    layer l - 1. Weights N(0, 0.01^2), biases 0, drawn layer by layer and gate by gate (W_x, W_h, b),
    then the head (W_hq, b_q): with one layer, d2l's order of draws."""

    def __init__(self, cell, vocab_size, hidden, layers, dropout=0.0):
        self.step, gates, self.state_size = SCRATCH_CELLS[cell]
        self.dropout, self.training = dropout, True
        self.vocab_size, self.hidden = vocab_size, hidden
        self.layer_weights = []
        for layer in range(layers):
            inputs = vocab_size if layer == 0 else hidden
            weights = []
            for _ in range(gates):
                weights += [_normal(inputs, hidden), _normal(hidden, hidden), _zeros(hidden)]
            self.layer_weights.append(weights)
        self.W_hq, self.b_q = _normal(hidden, vocab_size), _zeros(vocab_size)

    def __call__(self, X, state):
        state = list(state)
        outputs = []
        for x in F.one_hot(X.T, self.vocab_size).type(torch.float32):
            for layer, weights in enumerate(self.layer_weights):
                state[layer] = self.step(x, state[layer], weights)
                x = F.dropout(state[layer][0], self.dropout, self.training)
            outputs.append(x @ self.W_hq + self.b_q)
        return torch.cat(outputs, dim=0), tuple(state)

    def begin_state(self, batch_size):
        """Per layer, a tuple of zero tensors (H, or H and C)."""
        return tuple(
            tuple(torch.zeros(batch_size, self.hidden) for _ in range(self.state_size))
            for _ in self.layer_weights
        )

    def parameters(self):
        return [w for weights in self.layer_weights for w in weights] + [self.W_hq, self.b_q]

    def train(self, mode=True):
        self.training = mode
        return self

    def eval(self):
        return self.train(False)


def variational_dropout(x, p, training):
    """Inverted dropout on step-major x (steps, batch, width) with one mask per sequence, shared by all
    its steps (as rnnlm's variational masks)."""
    if not training or p == 0:
        return x
    mask = x.new_empty(1, x.shape[1], x.shape[2]).bernoulli_(1 - p) / (1 - p)
    return x * mask


class LayerModel(nn.Module):
    """A torch.nn RNN, GRU or LSTM (`layers` stacked, torch's initialisation) and a Linear head, on
    one-hot inputs, or with `embedding` on an nn.Embedding of that size; `tie_weights` makes the head's
    weight the embedding's (Press and Wolf 2017: one parameter, the embedding size equal to hidden).
    Dropout: on the embedded tokens, torch.nn's own between the stacked layers, nn.Dropout before the head;
    variational: the layers one module each (torch.nn's own dropout draws a mask per step), one mask per
    sequence on each of those connections."""

    def __init__(self, cell, vocab_size, hidden, layers, embedding=None, tie_weights=False, dropout=0.0,
                 dropout_mode='standard'):
        super().__init__()
        if tie_weights and embedding != hidden:
            raise ValueError(f'tie_weights needs embedding equal to hidden ({hidden}), got {embedding}')
        if dropout_mode not in ('standard', 'variational'):
            raise ValueError(f'unknown dropout_mode {dropout_mode!r}: expected standard or variational')
        rnn = {'rnn': nn.RNN, 'gru': nn.GRU, 'lstm': nn.LSTM}[cell]
        self.embedding = nn.Embedding(vocab_size, embedding) if embedding else None
        self.variational = dropout_mode == 'variational' and dropout > 0
        self.p = dropout
        if self.variational:
            inputs = [embedding or vocab_size] + [hidden] * (layers - 1)
            self.rnn = nn.ModuleList(rnn(size, hidden) for size in inputs)
        else:
            self.rnn = rnn(embedding or vocab_size, hidden, num_layers=layers, dropout=dropout if layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.linear = nn.Linear(hidden, vocab_size)
        if tie_weights:
            # Linear keeps its weight as (out, in) = (vocab, hidden): the embedding's own shape.
            self.linear.weight = self.embedding.weight
        self.vocab_size, self.hidden, self.layers = vocab_size, hidden, layers
        self.is_lstm = cell == 'lstm'

    def embed(self, X):
        """Step-major inputs of the first layer: the embeddings of the ids (dropped in training, as
        rnnlm drops them), or their one-hot vectors."""
        if self.embedding is not None:
            embedded = self.embedding(X.T.long())
            return variational_dropout(embedded, self.p, self.training) if self.variational else self.drop(embedded)
        return F.one_hot(X.T.long(), self.vocab_size).to(torch.float32)

    def forward(self, X, state):
        if self.variational:
            return self.forward_variational(X, state)
        Y, state = self.rnn(self.embed(X), state)
        return self.linear(self.drop(Y.reshape(-1, Y.shape[-1]))), state

    def forward_variational(self, X, state):
        """Layer by layer, each output dropped with one mask per sequence on its way up and to the head."""
        x, finals = self.embed(X), []
        for layer, rnn in enumerate(self.rnn):
            own = tuple(s[layer:layer + 1] for s in state) if self.is_lstm else state[layer:layer + 1]
            x, final = rnn(x, own)
            x = variational_dropout(x, self.p, self.training)
            finals.append(final)
        state = tuple(torch.cat(parts) for parts in zip(*finals)) if self.is_lstm else torch.cat(finals)
        return self.linear(x.reshape(-1, x.shape[-1])), state

    def begin_state(self, batch_size):
        """(layers, batch, hidden) zeros: H, or (H, C) for an LSTM."""
        zeros = lambda: torch.zeros(self.layers, batch_size, self.hidden)  # noqa: E731
        return (zeros(), zeros()) if self.is_lstm else zeros()


def build_model(name, vocab_size, hidden, layers, embedding=None, tie_weights=False, dropout=0.0,
                dropout_mode='standard'):
    """`<cell>-scratch`: the hand-written cells; `<cell>`: torch.nn layers (cell: rnn, gru or lstm),
    which alone take an embedding, tied weights and variational dropout."""
    if name.endswith('-scratch'):
        if embedding or tie_weights:
            raise ValueError('the -scratch models take one-hot inputs: embedding and tie_weights are for torch.nn ones')
        if dropout_mode != 'standard':
            raise ValueError('the -scratch models drop with a fresh mask per step: variational dropout is for torch.nn ones')
        return ScratchModel(name.removesuffix('-scratch'), vocab_size, hidden, layers, dropout)
    return LayerModel(name, vocab_size, hidden, layers, embedding, tie_weights, dropout, dropout_mode)
