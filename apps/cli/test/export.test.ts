// `rnnlm export --format tfjs-layers`: a trained model, exported, opened with tf.loadLayersModel from the
// files alone, gives the checkpoint's own next-token distribution. (The numerics of every architecture
// are tested in @rnnlm/train's export.test.ts; this is the command around them.)
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { restoreCheckpoint } from '@rnnlm/train';
import { loadCheckpoint } from '@rnnlm/train/node';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

let dir = '';
let model = '';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'rnnlm-export-cli-'));
  model = join(dir, 'model');
  const text = join(dir, 'tiny.txt');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(text, 'the cat sat on the mat and the dog sat on the log. '.repeat(20));
  const trained = await runCli(
    [
      'train',
      '--corpus',
      text,
      '--backend',
      'cpu',
      '--cell',
      'lstm',
      '--hidden',
      '8',
      '--layers',
      '2',
    ].concat([
      '--batch-size',
      '4',
      '--num-steps',
      '8',
      '--epochs',
      '1',
      '--out',
      model,
      '--sample-every',
      '0',
    ]),
  );
  expect(trained.code, trained.stderr).toBe(0);
});

/** A consumer's loader: model.json and the weights files it names, through tf.io.fromMemory. */
async function loadLayersModelFrom(path: string): Promise<tf.LayersModel> {
  const json = JSON.parse(readFileSync(path, 'utf8')) as tf.io.ModelJSON;
  const bytes = Buffer.concat(
    json.weightsManifest.flatMap((g) => g.paths).map((p) => readFileSync(join(path, '..', p))),
  );
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    }),
  );
}

describe('rnnlm export', () => {
  it('writes a LayersModel, its step form and the vocabulary that tfjs alone opens and that agree with the checkpoint', async () => {
    const out = join(dir, 'exported');
    const result = await runCli(['export', '--format', 'tfjs-layers', '--model', model, '--out', out]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/exported .* as a tfjs LayersModel/);
    expect(readdirSync(out).sort()).toEqual(['model.json', 'step', 'vocabulary.json', 'weights.bin']);
    const vocabulary = JSON.parse(readFileSync(join(out, 'vocabulary.json'), 'utf8'));
    expect(vocabulary).toMatchObject({ token: 'char', clean: 'letters', join: '', unknownId: 0 });

    const restored = restoreCheckpoint(await loadCheckpoint(model));
    const ids = Array.from('the cat', (ch) => Math.max(0, vocabulary.tokens.indexOf(ch)));
    const V = vocabulary.tokens.length;
    const expected = tf.tidy(() => {
      const { logits } = restored.model.forward(
        tf.tensor2d([ids], [1, ids.length], 'int32'),
        restored.model.beginState(1),
      );
      return tf.softmax(logits).reshape([1, ids.length, V]).arraySync() as number[][][];
    });
    const exported = await loadLayersModelFrom(join(out, 'model.json'));
    const got = tf.tidy(() =>
      (exported.predict(tf.tensor2d([ids], [1, ids.length], 'int32')) as tf.Tensor).arraySync(),
    );
    const diff = Math.max(...(got as number[][][]).flat(2).map((v, i) => Math.abs(v - expected.flat(2)[i]!)));
    expect(diff).toBeLessThan(1e-5);
    expect(await loadLayersModelFrom(join(out, 'step', 'model.json'))).toBeDefined();
    restored.dispose();
    restored.model.dispose();
    exported.dispose();
  });

  it('refuses to write over a checkpoint or into a directory that is not empty, and needs --format', async () => {
    const overCheckpoint = await runCli([
      'export',
      '--format',
      'tfjs-layers',
      '--model',
      model,
      '--out',
      model,
      '--force',
    ]);
    expect(overCheckpoint.code).toBe(4);
    expect(overCheckpoint.stderr).toMatch(/holds an rnnlm checkpoint.*choose another output directory/);
    expect(overCheckpoint.stderr).not.toMatch(/\n\s+at /);
    const taken = await runCli(['export', '--format', 'tfjs-layers', '--model', model, '--out', dir]);
    expect(taken.code).toBe(4);
    expect(taken.stderr).toMatch(/is not empty/);
    const noFormat = await runCli(['export', '--model', model, '--out', join(dir, 'x')]);
    expect(noFormat.code).toBe(2);
    expect(noFormat.stderr).toMatch(/--format/);
    const badFormat = await runCli(['export', '--format', 'onnx', '--model', model, '--out', join(dir, 'x')]);
    expect(badFormat.code).toBe(2);
    expect(badFormat.stderr).toMatch(/tfjs-layers/);
  });
});
