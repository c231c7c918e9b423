#!/usr/bin/env python3
"""The PyTorch reference benchmark: the d2l notebooks' recurrent language models trained in PyTorch.

Trains one configuration the way d2l's train_ch8 does and prints one JSON line with the fields
`rnnlm bench` prints, so that `pnpm bench:compare` can set the two side by side. See README.md.

  python3 bench/torch_reference.py --model lstm-scratch --epochs 500 --print-every 10
  python3 bench/torch_reference.py --model lstm --generate 2000 --num-samples 8

With --time-budget it trains as `rnnlm train --time-budget --valid-every` does instead (the
time-to-quality benchmark, bench/time-to-quality.mjs): the last --valid-fraction held out, optimizer,
schedule and dropout as rnnlm's, validation every --valid-every batches and at each epoch's end, and
prints one JSON line with every validation and the best one.
"""
import argparse
import json
import math
import os
import random
import resource
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# The Time Machine as the repository's tests read it (the d2l download, byte for byte).
DEFAULT_CORPUS = os.path.join(HERE, '..', 'fixtures', 'timemachine.txt')
SAMPLE_PREFIX = 'time traveller'
CELLS = ['rnn', 'gru', 'lstm']
MODELS = [f'{cell}-scratch' for cell in CELLS] + CELLS
INSTALL_HINT = ('install PyTorch (Debian: apt-get install python3-torch libopenblas0-pthread; '
                'elsewhere: pip install torch), see bench/README.md')


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'expected an integer >= 1, got {text}')
    return value


def non_negative_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f'expected an integer >= 0, got {text}')
    return value


def positive_float(text):
    value = float(text)
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f'expected a number > 0, got {text}')
    return value


def fraction(text):
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f'expected a number from 0 up to, not including, 1, got {text}')
    return value


def non_negative_float(text):
    value = float(text)
    if not value >= 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f'expected a number >= 0, got {text}')
    return value


def token_cap(text):
    value = int(text)
    if value == 0 or value < -1:
        raise argparse.ArgumentTypeError(f'expected a positive integer, or -1 for all tokens, got {text}')
    return value


def import_torch():
    try:
        import torch
    except ModuleNotFoundError as error:
        sys.exit(f'error: {error}: {INSTALL_HINT}')
    return torch


class VersionAction(argparse.Action):
    """--version: loads torch and prints its version, so that it also tells whether torch is installed
    (how bench:compare finds out before it runs anything)."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, help='print the versions of torch and Python, and exit')

    def __call__(self, parser, namespace, values, option_string=None):
        print(f'torch {import_torch().__version__}, Python {sys.version.split()[0]}')
        parser.exit()


def parser():
    # The flags and defaults of `rnnlm bench`: the notebooks' Time Machine run.
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--version', action=VersionAction)
    ap.add_argument('--model', choices=MODELS, default='lstm-scratch',
                    help='<cell>-scratch: hand-written cells; <cell>: torch.nn layers (default lstm-scratch)')
    ap.add_argument('--layers', type=positive_int, default=1, help='stacked recurrent layers (default 1)')
    ap.add_argument('--hidden', type=positive_int, default=256, help='hidden units per layer (default 256)')
    ap.add_argument('--embedding', type=positive_int, default=None,
                    help='torch.nn models: an nn.Embedding of this size feeds the first layer (default: one-hot)')
    ap.add_argument('--tie-weights', action='store_true',
                    help="torch.nn models: the head's weight is the embedding's (needs --embedding equal to --hidden)")
    ap.add_argument('--token', choices=['char', 'word'], default='char')
    ap.add_argument('--batch-size', type=positive_int, default=32)
    ap.add_argument('--num-steps', type=positive_int, default=35)
    ap.add_argument('--lr', type=positive_float, default=1.0, help='SGD learning rate (default 1)')
    ap.add_argument('--epochs', type=positive_int, default=500)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--max-tokens', type=token_cap, default=10000,
                    help='train on the first n tokens; -1: all (default 10000)')
    ap.add_argument('--corpus', default=DEFAULT_CORPUS,
                    help='a UTF-8 text file (default: the Time Machine, fixtures/timemachine.txt)')
    ap.add_argument('--threads', type=non_negative_int, default=0, help="torch's intra-op threads; 0: torch's default")
    ap.add_argument('--print-every', type=non_negative_int, default=0,
                    help='print perplexity every n epochs on stderr, and ppl_history in the JSON')
    ap.add_argument('--generate', type=non_negative_int, default=0, metavar='N',
                    help='measure generation instead of training: N tokens per sequence (untrained model '
                         'of the same shape), at batch 1 and at --num-samples')
    ap.add_argument('--num-samples', type=positive_int, default=8,
                    help='sequences generated at once for the batched figure (default 8)')
    ap.add_argument('--temperature', type=float, default=0.8, help='sampling temperature (default 0.8)')
    # rnnlm train's settings, for the time-to-quality run (--time-budget).
    ap.add_argument('--optimizer', choices=['sgd', 'adam'], default='sgd', help='default sgd, as d2l')
    ap.add_argument('--dropout', type=fraction, default=0.0,
                    help='dropout between layers and before the head in training (default 0)')
    ap.add_argument('--dropout-mode', choices=['standard', 'variational'], default='standard',
                    help='torch.nn models: standard, a fresh mask every step; variational, one per sequence')
    ap.add_argument('--clip', type=positive_float, default=1.0, help='global-norm clipping (default 1)')
    ap.add_argument('--lr-schedule', choices=['constant', 'cosine'], default='constant')
    ap.add_argument('--warmup-steps', type=non_negative_int, default=0)
    ap.add_argument('--lr-min', type=non_negative_float, default=0.0)
    ap.add_argument('--time-budget', type=positive_float, default=None,
                    help='seconds of training, then stop; validates as rnnlm train --valid-every')
    ap.add_argument('--anneal-to-budget', action='store_true',
                    help='with --time-budget and the cosine: reach --lr-min by the budget\'s end when it '
                         'comes before the epochs\' (as rnnlm train --anneal-to-budget)')
    ap.add_argument('--valid-fraction', type=fraction, default=0.1,
                    help='with --time-budget: the end of the corpus held out for validation (default 0.1)')
    ap.add_argument('--valid-every', type=non_negative_int, default=0,
                    help='with --time-budget: validate every n batches too (0: at epoch ends only)')
    ap.add_argument('--valid-tokens', type=non_negative_int, default=0,
                    help='with --time-budget: validate on at most the first n held-out tokens (0: all)')
    ap.add_argument('--parity', metavar='DIR', default=None,
                    help="bench/parity.mjs's folder: train on its weights and batches, print every step's loss")
    return ap


def cpu_capability():
    """The vector instruction level torch's own kernels dispatch to, where this torch can say."""
    import torch

    cpu = getattr(torch.backends, 'cpu', None)
    return cpu.get_cpu_capability() if cpu is not None and hasattr(cpu, 'get_cpu_capability') else None


def blas_in_use():
    """The BLAS libraries torch actually loaded (Linux), to show that OpenBLAS was picked up."""
    try:
        with open('/proc/self/maps') as f:
            libs = {line.split()[-1] for line in f if 'blas' in line.lower()}
    except OSError:
        return 'unknown'
    return ','.join(sorted(os.path.realpath(lib) for lib in libs)) or 'none'


def main(argv=None):
    ap = parser()
    args = ap.parse_args(argv)
    if args.parity is not None:
        torch = import_torch()
        if args.threads > 0:
            torch.set_num_threads(args.threads)
        from reference.parity import run_parity
        print(json.dumps({'impl': 'torch', 'version': torch.__version__, **run_parity(args.parity)}))
        return
    if not os.path.isfile(args.corpus):
        ap.error(f'corpus file not found: {args.corpus}')
    if (args.embedding or args.tie_weights) and args.model.endswith('-scratch'):
        ap.error(f'--embedding and --tie-weights are for the torch.nn models; {args.model} takes one-hot inputs')
    if args.dropout_mode != 'standard' and args.model.endswith('-scratch'):
        ap.error(f'--dropout-mode {args.dropout_mode} is for the torch.nn models; {args.model} drops per step')
    if args.tie_weights and args.embedding != args.hidden:
        ap.error(f'--tie-weights needs --embedding equal to --hidden {args.hidden}, got '
                 f'{"no --embedding" if args.embedding is None else f"--embedding {args.embedding}"}')
    # torch takes seconds to load: only once the flags are known to be good.
    torch = import_torch()
    from reference.corpus import load_corpus, min_corpus_tokens
    from reference.models import build_model
    from reference.training import TrainSettings, fit, predict

    # Two seeded generators, as in the notebooks: torch's draws the weights, Python's the start offsets.
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    if args.generate:
        print(json.dumps(generation_summary(args, torch)), flush=True)
        return
    try:
        ids, vocab = load_corpus(args.corpus, args.token, args.max_tokens)
    except UnicodeDecodeError as error:
        ap.error(f'{args.corpus} is not valid UTF-8 text ({error.reason} at byte offset {error.start})')
    except OSError as error:
        ap.error(f'cannot read the corpus: {error}')
    needed = min_corpus_tokens(args.batch_size, args.num_steps)
    if len(ids) < needed:
        ap.error(f'the corpus has {len(ids)} {args.token} tokens, too few for batches of '
                 f'{args.batch_size} x {args.num_steps} steps ({needed} needed)')
    model = build_model(args.model, len(vocab), args.hidden, args.layers, args.embedding, args.tie_weights,
                        args.dropout, args.dropout_mode)
    if args.time_budget is not None:
        return run_for_time(args, model, ids, vocab, rng, torch)
    settings = TrainSettings(args.batch_size, args.num_steps, args.lr, args.epochs, args.clip)

    history = {}

    def on_epoch_end(e, elapsed):
        if not math.isfinite(e.perplexity):
            raise SystemExit(f'error: training diverged in epoch {e.epoch} (perplexity {e.perplexity}): '
                             'try a lower --lr')
        if args.print_every and (e.epoch % args.print_every == 0 or e.epoch == args.epochs):
            history[e.epoch] = round(e.perplexity, 4)
            print(f'epoch {e.epoch:4d}  ppl {e.perplexity:9.4f}  {e.tokens / e.seconds:9.1f} tok/s  '
                  f'elapsed {elapsed:7.1f}s', file=sys.stderr, flush=True)

    result = fit(model, ids, settings, rng, on_epoch_end)
    tokens_per_s = result.steady_tokens_per_s()
    sample = predict(model, vocab, SAMPLE_PREFIX, 50 if args.token == 'char' else 10, args.token)
    summary = {
        'impl': 'torch',
        'version': torch.__version__,
        'backend': 'cpu',
        'model': args.model,
        'layers': args.layers,
        'hidden': args.hidden,
        'embedding': args.embedding,
        'tie_weights': args.tie_weights,
        # Shared parameters once (nn.Module.parameters() yields a tied one once).
        'parameters': sum(p.numel() for p in model.parameters()),
        'token': args.token,
        'vocab_size': len(vocab),
        'corpus_tokens': len(ids),
        'epochs': args.epochs,
        'tokens_per_s': round(tokens_per_s, 1) if tokens_per_s else None,
        'final_ppl': round(result.epochs[-1].perplexity, 4),
        'wall_s': round(result.wall_s, 2),
        'threads': torch.get_num_threads(),
        # rnnlm names its kernels' build (relaxed or plain SIMD); torch its vector code's level where it
        # says (torch >= 2.0: 'AVX2', 'AVX512', ...), else None. The products' BLAS is 'blas' below.
        'simd': cpu_capability(),
        'seed': args.seed,
        'lr': args.lr,
        # ru_maxrss is in KiB on Linux, in bytes on macOS.
        'peak_rss_mb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                             / (2**20 if sys.platform == 'darwin' else 2**10), 1),
        # torch keeps no count of the bytes its CPU tensors hold (it does on CUDA only).
        'peak_tensor_mb': None,
        'sample': sample,
        # The reference's own: which BLAS did the matrix products, on how many threads.
        'blas': blas_in_use(),
        'openblas_threads': os.environ.get('OPENBLAS_NUM_THREADS'),
    }
    if args.print_every:
        summary['ppl_history'] = history
    print(json.dumps(summary), flush=True)


def generation_summary(args, torch):
    """The JSON line of --generate: generation speed at batch 1 and at --num-samples, in the fields
    `rnnlm bench --generate` prints."""
    from reference.corpus import load_corpus
    from reference.generation import generation_speed
    from reference.models import build_model

    _, vocab = load_corpus(args.corpus, args.token, args.max_tokens)
    model = build_model(args.model, len(vocab), args.hidden, args.layers)
    warmup = min(50, args.generate)
    single, single_cpu = generation_speed(model, len(vocab), 1, args.generate, args.temperature, warmup,
                                          args.seed)
    batched, batched_cpu = generation_speed(model, len(vocab), args.num_samples, args.generate, args.temperature,
                                  warmup, args.seed)
    return {
        'impl': 'torch',
        'version': torch.__version__,
        'backend': 'cpu',
        'mode': 'generate',
        'model': args.model,
        'layers': args.layers,
        'hidden': args.hidden,
        'token': args.token,
        'vocab_size': len(vocab),
        'length': args.generate,
        'temperature': args.temperature,
        'num_samples': args.num_samples,
        'tokens_per_s_batch1': round(single, 1),
        'tokens_per_s_batched': round(batched, 1),
        'cpu_tokens_per_s_batch1': round(single_cpu, 1),
        'cpu_tokens_per_s_batched': round(batched_cpu, 1),
        'threads': torch.get_num_threads(),
        'blas': blas_in_use(),
        'openblas_threads': os.environ.get('OPENBLAS_NUM_THREADS'),
    }
def run_for_time(args, model, ids, vocab, rng, torch):
    """The time-to-quality run: rnnlm's split, schedule and validation under a wall-clock budget."""
    from reference.corpus import min_corpus_tokens
    from reference.training import BudgetSettings, fit_for_time

    cut = len(ids) - round(len(ids) * args.valid_fraction)  # rnnlm's splitTrainValid
    train, valid = ids[:cut], ids[cut:]
    if args.valid_tokens and len(valid) > args.valid_tokens:
        valid = valid[:args.valid_tokens]
    if len(valid) < 2 or len(train) < min_corpus_tokens(args.batch_size, args.num_steps):
        sys.exit('error: --time-budget needs a --valid-fraction that holds out text and leaves a minibatch')
    settings = BudgetSettings(args.batch_size, args.num_steps, args.lr, args.epochs, args.time_budget,
                              args.valid_every, args.optimizer, args.lr_schedule, args.warmup_steps,
                              args.lr_min, args.clip, args.anneal_to_budget)

    def report(entry):
        print(f"{entry['seconds']:8.1f}s  step {entry['step']:6d}  valid ppl {entry['valid_perplexity']:.4f}",
              file=sys.stderr, flush=True)

    try:
        validations = fit_for_time(model, train, valid, settings, rng, report)
    except FloatingPointError as error:
        sys.exit(f'error: {error}: try a lower --lr')
    best = min(validations, key=lambda v: v['valid_perplexity']) if validations else None
    print(json.dumps({
        'impl': 'torch',
        'version': torch.__version__,
        'model': args.model,
        'layers': args.layers,
        'hidden': args.hidden,
        'dropout': args.dropout,
        'dropout_mode': args.dropout_mode,
        'optimizer': args.optimizer,
        'lr': args.lr,
        'lr_schedule': args.lr_schedule,
        'anneal_to_budget': args.anneal_to_budget,
        'train_tokens': len(train),
        'valid_tokens': len(valid),
        'vocab_size': len(vocab),
        'budget_s': args.time_budget,
        'threads': torch.get_num_threads(),
        'best_valid_perplexity': best and best['valid_perplexity'],
        'best_seconds': best and best['seconds'],
        'validations': validations,
    }), flush=True)


if __name__ == '__main__':
    main()
