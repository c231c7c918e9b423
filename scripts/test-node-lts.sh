#!/usr/bin/env bash
# The packages' unit tests and a CLI train/generate on the newest Node LTS, which CI installs from the
# npm registry's node-linux-<arch> package (the official binary), so a regression on the Node that users
# run is caught before it ships. Run after `pnpm build`. NODE_LTS_VERSION picks another version.
set -euo pipefail
cd "$(dirname "$0")/.."

version="${NODE_LTS_VERSION:-26.12.1}"
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "test-node-lts: no node-linux package for $(uname -m)" >&2; exit 1 ;;
esac
prefix="${TMPDIR:-/tmp}/rnnlm-node-$version-$arch"
bin="$prefix/node_modules/node-linux-$arch/bin"
if [ ! -x "$bin/node" ]; then
  npm install --silent --no-save --no-package-lock --no-audit --no-fund --prefix "$prefix" "node-linux-$arch@$version"
fi
export PATH="$bin:$PATH"
if [ "$(node --version)" != "v$version" ]; then
  echo "test-node-lts: expected node v$version on PATH, got $(node --version)" >&2
  exit 1
fi
echo "test-node-lts: node $(node --version) from $bin"

# Every published package's and the CLI's tests (the web demo's drive Chromium: Node's version is not theirs).
projects=()
for dir in packages/*/ apps/cli/; do
  projects+=(--project "$(node -p "require('./${dir}package.json').name")")
done
pnpm exec vitest run "${projects[@]}"

# The CLI as a user runs it: the WebAssembly backend and the fused kernels' worker threads on this Node.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
node apps/cli/dist/bin.js train --corpus moby-dick --max-tokens 4000 --hidden 32 --batch-size 8 \
  --num-steps 16 --epochs 1 --sample-every 0 --backend wasm --out "$work/model" 2>"$work/stderr" >/dev/null \
  || { cat "$work/stderr" >&2; exit 1; }
grep -q '^backend wasm.*fused WebAssembly SIMD kernels' "$work/stderr" \
  || { echo "test-node-lts: the fused kernels did not run:" >&2; cat "$work/stderr" >&2; exit 1; }
text="$(node apps/cli/dist/bin.js generate --model "$work/model" --prefix 'call me' --length 20 --backend wasm 2>/dev/null)"
[[ "$text" == "call me"* && ${#text} -ge 27 ]] \
  || { echo "test-node-lts: generate printed ${text@Q}" >&2; exit 1; }
echo "test-node-lts: unit tests, train and generate pass on node $(node --version)"
