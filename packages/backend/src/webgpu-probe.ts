/**
 * Looking for a WebGPU adapter in a child process before Dawn starts in this one. Dawn and the Vulkan
 * drivers it loads write straight to the process's file descriptor 2 while they enumerate adapters
 * (why each was rejected, source locations, libwayland's `XDG_RUNTIME_DIR is invalid`), which Node
 * cannot redirect. The child's stderr is captured instead: when it finds no adapter (or only a software
 * one that `auto` refuses), this process never starts Dawn, and the reason is one line of ours that
 * quotes what Dawn said. A crash of a broken driver ends the child, not the app. Node only.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import type { GpuAdapterLike } from './webgpu-device.js';

/** What the child found: the adapter's description (null: none), and what Dawn wrote while looking. */
export interface AdapterProbe {
  adapter: GpuAdapterLike | null;
  /** Dawn's and the drivers' messages, one a line, without source locations. */
  said: string[];
}

/** How long the child may look: Dawn answers within a second or two, a hung driver never. */
const PROBE_TIMEOUT_MS = 30_000;

/** The child: start Dawn from the module at RNNLM_WEBGPU_MODULE, ask for an adapter, print its info. */
const CHILD = `
const m = await import(process.env.RNNLM_WEBGPU_MODULE);
Object.assign(globalThis, m.globals);
const adapter = await m.create([]).requestAdapter({ powerPreference: 'high-performance' });
const info = adapter?.info ?? {};
const pick = ({ vendor, architecture, description, isFallbackAdapter }) => ({ vendor, architecture, description, isFallbackAdapter });
process.stdout.write(JSON.stringify({ adapter: adapter ? { info: pick(info), isFallbackAdapter: adapter.isFallbackAdapter } : null }));
process.exit(0);
`;

/** The `webgpu` package's entry as a URL, resolved from here (it is our optional dependency). */
export function webgpuModuleUrl(pkg: string): string {
  return pathToFileURL(createRequire(import.meta.url).resolve(pkg)).href;
}

/** Runs the child on the module at `moduleUrl` and reads its answer. */
export async function probeAdapter(moduleUrl: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<AdapterProbe> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    // libwayland (loaded by Vulkan drivers) complains on stderr without XDG_RUNTIME_DIR.
    env: { ...process.env, RNNLM_WEBGPU_MODULE: moduleUrl, XDG_RUNTIME_DIR: runtimeDir() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, s) => resolve([c, s]));
  }).finally(() => clearTimeout(timer));
  const said = dawnSaid(stderr);
  if (code !== 0) {
    const how =
      signal === 'SIGKILL'
        ? `did not answer in ${timeoutMs / 1000} s`
        : `ended with ${signal ?? `exit code ${code}`}`;
    throw new Error(
      `looking for a WebGPU adapter, Dawn ${how}${said.length > 0 ? ` (it said: ${said.join('; ')})` : ''}`,
    );
  }
  try {
    const { adapter } = JSON.parse(stdout) as { adapter: GpuAdapterLike | null };
    return { adapter, said };
  } catch {
    throw new Error(`looking for a WebGPU adapter, Dawn answered ${JSON.stringify(stdout.slice(0, 200))}`);
  }
}

/**
 * Dawn's stderr as short messages: `Warning: X.` and its ` - While ...` context joined on one line
 * (`X, while ...`), source locations (`at F (file:line)`) and blank lines dropped, repeats once, at
 * most five.
 */
export function dawnSaid(stderr: string): string[] {
  const messages: string[] = [];
  for (const raw of stderr.split('\n')) {
    const line = raw.trim();
    if (line === '' || /^at \S+ \(.*\)$/.test(line)) continue;
    if (line.startsWith('- ') && messages.length > 0) {
      const context = line.slice(2).replace(/\.$/, '');
      messages[messages.length - 1] += `, ${context.charAt(0).toLowerCase()}${context.slice(1)}`;
      continue;
    }
    messages.push(line.replace(/^(warning|error):\s*/i, '').replace(/\.$/, ''));
  }
  return [...new Set(messages)].slice(0, 5);
}

/** The directory libwayland is told about: the user's own when set, else the temporary one. */
export function runtimeDir(): string {
  return process.env.XDG_RUNTIME_DIR || tmpdir();
}
