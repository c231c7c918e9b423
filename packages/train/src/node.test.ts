import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createScratchModel } from '@rnnlm/cells';
import { Vocab } from '@rnnlm/text';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { toArtifacts } from './checkpoint.js';
import { loadCheckpoint, saveCheckpoint, writeAtomically } from './node.js';
import { restoreCheckpoint } from './restore.js';

const vocab = new Vocab(Array.from('hello world'));
const makeModel = (seed: number) =>
  createScratchModel(
    { impl: 'scratch', cell: 'lstm', vocabSize: vocab.size, hidden: 5, layers: 1, bidirectional: false },
    { seed },
  );
const corpus = { token: 'char', clean: 'unicode' } as const;

describe('checkpoints on disk', () => {
  it('round-trips a model: same weights, config, vocabulary and corpus settings', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'rnnlm-ckpt-')), 'model');
    const model = makeModel(1);
    await saveCheckpoint(dir, await toArtifacts({ model, vocab, corpus }));
    expect(readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    expect(json.format).toBe('rnnlm-checkpoint');
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    const restored = restoreCheckpoint(await loadCheckpoint(dir));
    expect(restored.meta.model).toEqual(model.config);
    expect(Vocab.fromJSON(restored.meta.vocab).toTokens([1, 2, 3])).toEqual(vocab.toTokens([1, 2, 3]));
    expect(restored.meta.corpus).toEqual(corpus);
    for (const [i, v] of restored.model.variables.entries()) {
      expect(Array.from(v.dataSync())).toEqual(Array.from(model.variables[i]!.dataSync()));
    }
    restored.dispose();
    restored.model.dispose();
    model.dispose();
  });

  it('overwrites by switching weights files, so the old checkpoint stays whole until the switch', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rnnlm-ckpt-'));
    const first = makeModel(1);
    const second = makeModel(2);
    await saveCheckpoint(dir, await toArtifacts({ model: first, vocab, corpus }));
    await saveCheckpoint(dir, await toArtifacts({ model: second, vocab, corpus }));
    expect(readdirSync(dir).sort()).toEqual(['model.json', 'weights.b.bin']);
    const restored = restoreCheckpoint(await loadCheckpoint(dir));
    expect(Array.from(restored.model.variables[0]!.dataSync())).toEqual(
      Array.from(second.variables[0]!.dataSync()),
    );
    // A save interrupted before model.json switches has written only the file model.json does not
    // name; the checkpoint on disk still loads whole.
    writeFileSync(join(dir, 'weights.bin'), new Uint8Array(37)); // a half-written next weights file
    const again = restoreCheckpoint(await loadCheckpoint(dir));
    expect(Array.from(again.model.variables[0]!.dataSync())).toEqual(
      Array.from(second.variables[0]!.dataSync()),
    );
    again.dispose();
    again.model.dispose();
    for (const m of [first, second, restored.model]) m.dispose();
    restored.dispose();
  });

  it('explains corrupt, truncated, foreign and missing checkpoints', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rnnlm-ckpt-'));
    const model = makeModel(1);
    await saveCheckpoint(dir, await toArtifacts({ model, vocab, corpus }));
    const weights = readFileSync(join(dir, 'weights.bin'));
    writeFileSync(join(dir, 'weights.bin'), weights.subarray(0, 100));
    await expect(loadCheckpoint(dir).then(restoreCheckpoint)).rejects.toThrow(
      /weights file holds 100 bytes but its model.json describes \d+: the file is truncated/,
    );
    writeFileSync(join(dir, 'weights.bin'), weights);
    const json = readFileSync(join(dir, 'model.json'), 'utf8');
    writeFileSync(join(dir, 'model.json'), json.slice(0, 50));
    await expect(loadCheckpoint(dir)).rejects.toThrow(/model.json is corrupt: it is not valid JSON/);
    writeFileSync(join(dir, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: {} }));
    await expect(loadCheckpoint(dir)).rejects.toThrow(/is not an rnnlm checkpoint/);
    await expect(saveCheckpoint(dir, await toArtifacts({ model, vocab, corpus }))).rejects.toThrow(
      /not an rnnlm checkpoint; choose another output directory/,
    );
    const meta = JSON.parse(json);
    meta.modelTopology.version = 99;
    writeFileSync(join(dir, 'model.json'), JSON.stringify(meta));
    await expect(loadCheckpoint(dir)).rejects.toThrow(
      /format version 99; this rnnlm reads version 1: upgrade rnnlm/,
    );
    meta.modelTopology.version = 1;
    meta.modelTopology.model.hidden = 6;
    writeFileSync(join(dir, 'model.json'), JSON.stringify(meta));
    await expect(loadCheckpoint(dir).then(restoreCheckpoint)).rejects.toThrow(
      /the model config \(lstm, vocabulary 9, 1 layer\(s\) of hidden 6\) has \d+ parameters but the weights hold \d+/,
    );
    await expect(loadCheckpoint(join(dir, 'nothing-here'))).rejects.toThrow(
      /no checkpoint at .*: the directory does not exist/,
    );
    model.dispose();
  });

  it('refuses NaN or infinite weights, and tells an unreadable model.json from a corrupt one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rnnlm-ckpt-'));
    const model = makeModel(1);
    await saveCheckpoint(dir, await toArtifacts({ model, vocab, corpus }));
    model.dispose();
    const weights = readFileSync(join(dir, 'weights.bin'));
    weights.writeFloatLE(Number.POSITIVE_INFINITY, 4 * 7);
    writeFileSync(join(dir, 'weights.bin'), weights);
    const before = tf.memory().numTensors;
    await expect(loadCheckpoint(dir).then(restoreCheckpoint)).rejects.toThrow(
      /weight model\/\S+ holds NaN or infinite values/,
    );
    expect(tf.memory().numTensors).toBe(before);
    // A weights file that is a link to an endless device is refused, not read for ever.
    unlinkSync(join(dir, 'weights.bin'));
    symlinkSync('/dev/zero', join(dir, 'weights.bin'));
    await expect(loadCheckpoint(dir)).rejects.toThrow(/weights file .*weights\.bin is not a regular file/);
    const endless = mkdtempSync(join(tmpdir(), 'rnnlm-ckpt-'));
    symlinkSync('/dev/zero', join(endless, 'model.json'));
    await expect(loadCheckpoint(endless)).rejects.toThrow(
      /^cannot read .*model\.json: it is not a regular file/,
    );
    const unreadable = mkdtempSync(join(tmpdir(), 'rnnlm-ckpt-'));
    mkdirSync(join(unreadable, 'model.json'));
    await expect(loadCheckpoint(unreadable)).rejects.toThrow(
      /^cannot read .*model\.json: it is not a regular file/,
    );
  });

  it('replaces a link at the target instead of writing through it, and leaves no temporary file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rnnlm-ckpt-'));
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'keep');
    symlinkSync(victim, join(dir, 'out.bin'));
    await writeAtomically(join(dir, 'out.bin'), [new Uint8Array([1, 2]), new Uint8Array([3])]);
    expect(readFileSync(victim, 'utf8')).toBe('keep');
    expect(lstatSync(join(dir, 'out.bin')).isSymbolicLink()).toBe(false);
    expect(Array.from(readFileSync(join(dir, 'out.bin')))).toEqual([1, 2, 3]);
    // (A write cut short by a file-size limit is tested through the CLI, under ulimit: test/hostile.test.ts.)
    expect(readdirSync(dir).sort()).toEqual(['out.bin', 'victim.txt']);
  });
});
