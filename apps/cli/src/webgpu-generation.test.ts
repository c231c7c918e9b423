// Generation on tfjs's webgpu backend in Node (the `webgpu` package, on this machine's adapter,
// SwiftShader where there is no GPU): tensors are read only with `await` there, so the generators read
// each step's logits asynchronously and give the tokens the cpu backend gives, freeing what they make.
// Outside CI a machine with no adapter skips, saying why; in CI that fails.
import { selectBackend, WEBGPU_SYNC_READ_ERROR } from '@rnnlm/backend';
import { NO_NATIVE_LOADERS, needAdapter, startWebgpu } from '@rnnlm/backend/testing';
import type { LanguageModel, ModelConfig } from '@rnnlm/cells';
import {
  createModel,
  type GenerateOptions,
  generate,
  generateAsync,
  generateStream,
  type TokenVocab,
} from '@rnnlm/train';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const LETTERS = ' abcdefghijk';
const vocab: TokenVocab = {
  size: LETTERS.length,
  unk: 0,
  indexOf: (token) => Math.max(0, LETTERS.indexOf(token)),
  toTokens: (ids) => Array.from(ids, (id) => LETTERS[id]!),
};
// Embedded and tied: the token step's copy of these weights is computed by tfjs ops (E W_x, E^T),
// which a synchronous read cannot reach on webgpu in Node.
const config: ModelConfig = {
  impl: 'scratch',
  cell: 'gru',
  vocabSize: LETTERS.length,
  hidden: 8,
  layers: 2,
  bidirectional: false,
  embedding: 8,
  tieWeights: true,
};
const options: GenerateOptions = { token: 'char', temperature: 1, seed: 11 };
const PREFIX = 'abc';
const LENGTH = 12;

/**
 * A model of `config` on the active backend with fixed weights of order one (a fresh model's logits
 * are nearly equal, and the order of nearly equal probabilities is a matter of rounding).
 */
function fixedModel(): LanguageModel {
  const model = createModel(config, { seed: 1 });
  model.variables.forEach((v, i) => {
    const values = Float32Array.from({ length: v.size }, (_, j) => 0.9 * Math.sin(1 + 7 * i + 0.37 * j));
    v.assign(tf.tensor(values, v.shape));
  });
  return model;
}

let unavailable: string | null = null;
beforeAll(async () => {
  unavailable = await startWebgpu();
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('generation on webgpu in Node', () => {
  it('reads each step with await and gives the cpu backend tokens, leaving no tensor behind', async (context) => {
    needAdapter(context, unavailable);
    await selectBackend({ backend: 'cpu', threads: 1 });
    const onCpu = fixedModel();
    const expected = generate(onCpu, vocab, PREFIX, LENGTH, options);
    const expectedTfjs = generate(onCpu, vocab, PREFIX, LENGTH, { ...options, path: 'tfjs' });
    expect(expectedTfjs.text).toBe(expected.text); // the two cpu paths agree: a fixed point to compare with
    // Where sync reads work, the asynchronous generator is the synchronous one.
    expect(await generateAsync(onCpu, vocab, PREFIX, LENGTH, options)).toEqual(expected);
    onCpu.dispose();

    await selectBackend({ backend: 'webgpu', loaders: NO_NATIVE_LOADERS });
    const model = fixedModel();
    // The synchronous token step cannot copy these weights here: why the generators read with await.
    expect(() => generate(model, vocab, PREFIX, LENGTH, options)).toThrow(WEBGPU_SYNC_READ_ERROR);
    const before = tf.memory().numTensors;
    const result = await generateAsync(model, vocab, PREFIX, LENGTH, options);
    expect(result.text).toBe(expected.text);
    expect(result.path).toBe('tfjs');
    expect(result.pathReason).toMatch(/reads tensors only asynchronously/);
    const streamed: string[] = [];
    const stream = generateStream(model, vocab, PREFIX, { ...options, maxTokens: LENGTH });
    let next = await stream.next();
    for (; !next.done; next = await stream.next()) streamed.push(next.value);
    expect(streamed).toEqual(expected.generated);
    expect(next.value).toMatchObject({ reason: 'length', path: 'tfjs' });
    // Stopped early (a stop string), the stream frees the state it carried too.
    const stopped = generateStream(model, vocab, PREFIX, {
      ...options,
      maxTokens: LENGTH,
      stop: [expected.generated[2]!],
    });
    for (next = await stopped.next(); !next.done; next = await stopped.next());
    expect(next.value.reason).toBe('stop');
    // Asking for the token step says why it cannot run here.
    await expect(generateAsync(model, vocab, PREFIX, 2, { ...options, path: 'kernels' })).rejects.toThrow(
      /generation cannot run on the kernels: .*only asynchronously/,
    );
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
