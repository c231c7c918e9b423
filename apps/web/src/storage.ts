/**
 * Models kept in this browser, in IndexedDB through tfjs's `indexeddb://` handlers, under one prefix
 * so that the list shows only this page's models.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { io } from '@tensorflow/tfjs-core';

const STORE_PREFIX = 'indexeddb://rnnlm/';

/** The names of the saved models, in the order IndexedDB lists them. */
export async function savedModelNames(): Promise<string[]> {
  return Object.keys(await io.listModels())
    .filter((url) => url.startsWith(STORE_PREFIX))
    .map((url) => url.slice(STORE_PREFIX.length));
}

export async function saveModel(name: string, artifacts: tf.io.ModelArtifacts): Promise<void> {
  const handler = io.getSaveHandlers(STORE_PREFIX + name)[0];
  if (!handler?.save)
    throw new Error('this browser cannot keep models (no IndexedDB); export them as files instead');
  await handler.save(artifacts);
}

export async function loadModel(name: string): Promise<tf.io.ModelArtifacts> {
  const url = STORE_PREFIX + name;
  const handler = io.getLoadHandlers(url)[0];
  if (!handler?.load) throw new Error(`cannot read ${url}: this browser has no IndexedDB`);
  return handler.load();
}

export async function removeModel(name: string): Promise<void> {
  await io.removeModel(STORE_PREFIX + name);
}
