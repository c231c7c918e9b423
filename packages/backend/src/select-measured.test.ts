// `auto` by measurement with injected candidates and measurements (no tfjs): which backend wins, what
// the line says, what is remembered, and that a forced backend or no measuring keeps the static order.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileChoiceMemory } from './choice-file.js';
import { type ChoiceMemory, choiceKey, type RememberedChoice, StepTimer } from './measure.js';
import { type BackendCandidate, BackendUnavailableError, selectFrom } from './select.js';
import { selectMeasured } from './select-measured.js';

type Name = 'fast' | 'gone' | 'broken' | 'slow';

/** Candidates that record which one is active, as tfjs's current backend would be. */
function fakes(failing: Partial<Record<Name, string>> = {}) {
  const state = { active: '', activations: [] as string[] };
  const candidates: BackendCandidate<Name>[] = (['gone', 'broken', 'slow', 'fast'] as const).map((name) => ({
    name,
    installHint: `install ${name}`,
    activate: async () => {
      state.activations.push(name);
      if (failing[name]) throw new BackendUnavailableError(name, failing[name]!);
      state.active = name;
      return { tfjsBackend: name, device: `device of ${name}` };
    },
  }));
  return { state, candidates };
}

function mapMemory(): ChoiceMemory & { map: Map<string, RememberedChoice> } {
  const map = new Map<string, RememberedChoice>();
  return { map, read: async (key) => map.get(key), write: async (key, choice) => void map.set(key, choice) };
}

const speeds: Record<string, number> = { slow: 410, fast: 31200 };

describe('selectMeasured', () => {
  it('starts the fastest backend, prints every speed and why the others were skipped', async () => {
    const { state, candidates } = fakes({ gone: '@x/gone is not installed' });
    const measured: string[] = [];
    const selection = await selectMeasured(candidates, {
      measure: async (name) => {
        expect(state.active).toBe(name); // measured on the backend that is active
        measured.push(name);
        if (name === 'broken') throw new Error('kernel Foo is not registered\nstack...');
        return speeds[name]!;
      },
    });
    expect(measured).toEqual(['broken', 'slow', 'fast']);
    expect(selection.backend).toBe('fast');
    expect(state.active).toBe('fast');
    expect(selection.forced).toBe(false);
    expect(selection.remembered).toBe(false);
    expect(selection.measurements).toEqual([
      { backend: 'fast', tokensPerSecond: 31200 },
      { backend: 'slow', tokensPerSecond: 410 },
    ]);
    expect(selection.message).toBe(
      'backend fast (device of fast; measured: fast 31,200 tokens/s, slow 410 tokens/s; ' +
        'gone: @x/gone is not installed; broken: training steps failed (kernel Foo is not registered))',
    );
  });

  it('activates the winner again after measuring a later, slower backend', async () => {
    const { state, candidates } = fakes();
    const selection = await selectMeasured(candidates, {
      measure: async (name) => ({ gone: 5, broken: 900, slow: 10, fast: 20 })[name],
    });
    expect(selection.backend).toBe('broken');
    expect(state.active).toBe('broken');
    expect(state.activations.at(-1)).toBe('broken');
  });

  it('passes the best speed so far to each measurement', async () => {
    const { candidates } = fakes();
    const bests: number[] = [];
    await selectMeasured(candidates, {
      measure: async (name, { best }) => {
        bests.push(best);
        return { gone: 5, broken: 900, slow: 10, fast: 20 }[name];
      },
    });
    expect(bests).toEqual([0, 5, 900, 900]);
  });

  it('remembers the answer and uses it next time without measuring', async () => {
    const memory = mapMemory();
    const key = choiceKey({ cpu: 'x', hidden: 256 });
    const first = fakes({ gone: 'not installed' });
    await selectMeasured(first.candidates, { measure: async (n) => speeds[n] ?? 1, memory, key });
    expect(memory.map.get(key)?.backend).toBe('fast');

    const second = fakes({ gone: 'not installed' });
    const selection = await selectMeasured(second.candidates, {
      measure: async () => {
        throw new Error('must not measure');
      },
      memory,
      key,
    });
    expect(selection.backend).toBe('fast');
    expect(selection.remembered).toBe(true);
    expect(second.state.activations).toEqual(['fast']);
    expect(selection.message).toContain(
      'measured: fast 31,200 tokens/s, slow 410 tokens/s, broken 1 tokens/s (remembered)',
    );
  });

  it('measures again when the remembered backend no longer starts, and under another key', async () => {
    const memory = mapMemory();
    memory.map.set('k', {
      backend: 'fast',
      measurements: [{ backend: 'fast', tokensPerSecond: 9 }],
      measuredAt: '',
    });
    const { candidates } = fakes({ fast: 'uninstalled' });
    const selection = await selectMeasured(candidates, {
      measure: async (n) => speeds[n] ?? 1,
      memory,
      key: 'k',
    });
    expect(selection.backend).toBe('slow');
    expect(selection.remembered).toBe(false);
    expect(memory.map.get('k')?.backend).toBe('slow');

    const other = await selectMeasured(fakes().candidates, {
      measure: async (n) => ({ gone: 1, broken: 2, slow: 3, fast: 4 })[n],
      memory,
      key: 'another shape',
    });
    expect(other.remembered).toBe(false);
  });

  it('fails with every reason when no backend can run training steps', async () => {
    const { candidates } = fakes({ gone: 'not installed' });
    await expect(
      selectMeasured(candidates, {
        measure: async () => {
          throw new Error('out of memory');
        },
      }),
    ).rejects.toThrow(
      'No tfjs backend could run training steps: gone: not installed; broken: training steps failed (out of memory);',
    );
  });

  it('rejects a measurement that is not a positive speed', async () => {
    const { candidates } = fakes();
    const selection = await selectMeasured(candidates, {
      measure: async (name) => (name === 'fast' ? Number.NaN : 7),
    });
    expect(selection.backend).toBe('gone');
    expect(selection.message).toContain('fast: training steps failed (measured NaN tokens/s)');
  });
});

describe('the static order (a forced backend, or measuring off)', () => {
  it('a forced backend starts without measuring; auto without measuring takes the first that starts', async () => {
    const forced = fakes({ gone: 'not installed' });
    const selection = await selectFrom(forced.candidates, 'slow');
    expect(selection).toMatchObject({ backend: 'slow', forced: true });
    expect(forced.state.activations).toEqual(['slow']);

    const ordered = fakes({ gone: 'not installed' });
    const auto = await selectFrom(ordered.candidates, 'auto');
    expect(auto.backend).toBe('broken');
    expect(auto.measurements).toBeUndefined();
  });
});

describe('StepTimer', () => {
  function clock(times: number[]) {
    let i = 0;
    return () => times[i++]!;
  }

  it('times the steps after the warm-up and stops after the timed steps', () => {
    // start 0, warm-up ends at 1000, then steps of 100 ms of 350 tokens each.
    const timer = new StepTimer({
      tokensPerStep: 350,
      timedSteps: 3,
      now: clock([0, 1000, 1100, 1200, 1300]),
    });
    timer.start();
    expect(timer.stepDone()).toBe(false); // warm-up
    expect(timer.tokensPerSecond).toBe(0);
    expect(timer.stepDone()).toBe(false);
    expect(timer.stepDone()).toBe(false);
    expect(timer.stepDone()).toBe(true);
    expect(timer.tokensPerSecond).toBeCloseTo((3 * 350) / 0.3, 6);
  });

  it('stops at the time cap, and after one step when clearly slower than the best', () => {
    const capped = new StepTimer({ tokensPerStep: 10, capMs: 2500, now: clock([0, 10, 2000, 2600]) });
    capped.start();
    capped.stepDone();
    expect(capped.stepDone()).toBe(false);
    expect(capped.stepDone()).toBe(true);
    expect(capped.tokensPerSecond).toBeCloseTo(20 / 2.59, 6);

    // 10 tokens in 1 s = 10 tokens/s, below half of the best 100.
    const slower = new StepTimer({ tokensPerStep: 10, best: 100, now: clock([0, 5, 1005]) });
    slower.start();
    slower.stepDone();
    expect(slower.stepDone()).toBe(true);
    expect(slower.tokensPerSecond).toBeCloseTo(10, 6);

    const close = new StepTimer({ tokensPerStep: 10, best: 15, now: clock([0, 5, 1005]) });
    close.start();
    close.stepDone();
    expect(close.stepDone()).toBe(false);
  });
});

describe('fileChoiceMemory', () => {
  it('keeps choices by key in a JSON file, and treats a damaged file as empty', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rnnlm-choice-'));
    try {
      const path = join(dir, 'nested', 'backend-choices.json');
      const memory = fileChoiceMemory(path);
      expect(await memory.read('a')).toBeUndefined();
      const choice = {
        backend: 'wasm',
        measurements: [{ backend: 'wasm', tokensPerSecond: 5 }],
        measuredAt: 't',
      };
      await memory.write('a', choice);
      await memory.write('b', { ...choice, backend: 'cpu' });
      expect(await fileChoiceMemory(path).read('a')).toEqual(choice);
      expect((await fileChoiceMemory(path).read('b'))?.backend).toBe('cpu');
      expect(JSON.parse(await readFile(path, 'utf8')).format).toBe('rnnlm-backend-choices');
      await writeFile(path, '{"format": "rnnlm-backend-choices", "version": 1, "choi');
      expect(await memory.read('a')).toBeUndefined();
      await memory.write('a', choice);
      expect(await memory.read('a')).toEqual(choice);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
