"""The reference half of bench/parity.mjs: rnnlm's initial weights and minibatches, trained in torch.

The folder holds parity.json: `settings` (sizes, Adam's rate, the cosine schedule, clipping),
`weights` (rnnlm's scratch names: layer{l}/forward/W_x [in, 4H], W_h [H, 4H], b [4H] with the gates
in d2l's order i, f, o, c~; head/W_hq [H, V], head/b_q [V]) and `batches` (row-major X and Y).
"""
import json
import os

import torch
from torch import nn

from .models import LayerModel
from .training import clip_gradients, detach, scheduled_rate


def _lstm_gates(tensor, hidden):
    """d2l's gate blocks (i, f, o, c~) along the last axis in torch's order (i, f, g = c~, o)."""
    i, f, o, c = torch.split(tensor, hidden, dim=-1)
    return torch.cat([i, f, c, o], dim=-1)


def load_weights(model, weights, hidden, layers):
    """rnnlm's weights into the torch.nn model: W transposed (torch keeps [out, in]), the fused bias as
    bias_ih with bias_hh zero (the cell adds the two)."""
    named = {w['name']: torch.tensor(w['values'], dtype=torch.float32).reshape(w['shape']) for w in weights}
    with torch.no_grad():
        for layer in range(layers):
            prefix = f'layer{layer}/forward/'
            getattr(model.rnn, f'weight_ih_l{layer}').copy_(_lstm_gates(named[prefix + 'W_x'], hidden).T)
            getattr(model.rnn, f'weight_hh_l{layer}').copy_(_lstm_gates(named[prefix + 'W_h'], hidden).T)
            getattr(model.rnn, f'bias_ih_l{layer}').copy_(_lstm_gates(named[prefix + 'b'], hidden))
            getattr(model.rnn, f'bias_hh_l{layer}').zero_()
        model.linear.weight.copy_(named['head/W_hq'].T)
        model.linear.bias.copy_(named['head/b_q'])


def run_parity(folder):
    """Trains on the folder's batches from its weights twice: as torch.nn.LSTM is (two biases, b_ih and
    b_hh, each updated by Adam) and with b_hh held at zero (one bias, as rnnlm's cells). Returns the
    loss of every update of each."""
    with open(os.path.join(folder, 'parity.json')) as f:
        data = json.load(f)
    return {'two_biases': train(data, False), 'one_bias': train(data, True)}


def train(data, one_bias):
    s = data['settings']
    torch.manual_seed(0)
    model = LayerModel('lstm', s['vocab_size'], s['hidden'], s['layers'])
    load_weights(model, data['weights'], s['hidden'], s['layers'])
    if one_bias:
        for layer in range(s['layers']):
            getattr(model.rnn, f'bias_hh_l{layer}').requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=s['lr'])
    loss_fn = nn.CrossEntropyLoss()
    shape = (s['batch_size'], s['num_steps'])
    state, losses = None, []
    model.train()
    for step, batch in enumerate(data['batches']):
        X = torch.tensor(batch['X']).reshape(shape)
        Y = torch.tensor(batch['Y']).reshape(shape)
        state = model.begin_state(shape[0]) if state is None else detach(state)
        logits, state = model(X, state)
        loss = loss_fn(logits, Y.T.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        clip_gradients(params, s['clip'])
        for group in optimizer.param_groups:
            group['lr'] = scheduled_rate('cosine', s['lr'], step, s['total_steps'], s['warmup_steps'], s['lr_min'])
        optimizer.step()
        losses.append(loss.item())
    return losses
