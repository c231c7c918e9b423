#!/usr/bin/env bash
# The GPU measurement in one run, under 10 minutes, on a Linux x64 machine with an NVIDIA GPU (its
# driver brings the Vulkan ICD): makes sure the Vulkan loader and the driver's ICD are found, then runs
#   1. scripts/bench-gpu.mjs: the reference LSTM's training tokens/s on webgpu in Node (Dawn on Vulkan)
#      against rnnlm's wasm kernels, batch 32/128/512 x hidden 256/1024 (about 7 minutes at most);
#   2. scripts/bench-gpu-page.mjs: the page's measured auto in headless Chromium, if one starts.
# Writes bench-gpu.json, bench-gpu-page.json and device.txt to $OUT (default ./gpu-results) and prints
# them. Arguments go to bench-gpu.mjs (--quick checks the whole chain in a minute or two).
#
# Where the machine has network: apt-get installs libvulkan1, and the repository needs
# `pnpm install && pnpm build` (this script runs them when node_modules is missing). Where it has
# none (the device tool's machines): run scripts/pack-device-gpu.sh here first and carry .device-gpu;
# this script then unpacks Node, the deployed CLI and the loader's package from it.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out=${OUT:-$repo/gpu-results}
mkdir -p "$out"
log() { echo "device-gpu: $*" >&2; }

# The Vulkan loader.
if ! ldconfig -p | grep -q 'libvulkan\.so\.1'; then
  if ls .device-gpu/debs/*.deb >/dev/null 2>&1; then
    for deb in .device-gpu/debs/*.deb; do dpkg -x "$deb" /; done
    ldconfig
  elif command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq libvulkan1 >/dev/null
  fi
  ldconfig -p | grep -q 'libvulkan\.so\.1' || log 'no Vulkan loader (libvulkan1): webgpu will find no adapter'
fi
# The NVIDIA driver's ICD, where the loader does not look by itself (a container's driver mount).
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
  for icd in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json \
    /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; break; fi
  done
fi
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}

# Node and the built packages: the repository's, or the packed ones.
app=$repo
node=node
if [ -f .device-gpu/app.tar.xz ] && { [ -n "${RNNLM_USE_PACK:-}" ] || ! command -v node >/dev/null || [ ! -d node_modules ]; }; then
  unpacked=$(mktemp -d)
  tar -C "$unpacked" -xJf .device-gpu/app.tar.xz
  app=$unpacked/app
  node=$unpacked/node
elif [ ! -d node_modules ]; then
  pnpm install --frozen-lockfile && pnpm build >/dev/null
fi
{
  echo "node $("$node" --version)"
  { nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo 'no nvidia-smi'; } 2>&1 | head -1
  echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-} VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-}"
  ldconfig -p | grep 'libvulkan\.so\.1' | head -1
} >"$out/device.txt"
cat "$out/device.txt" >&2

log 'bench-gpu (webgpu in Node against the wasm kernels)'
RNNLM_BENCH_ROOT=$app timeout 560 "$node" scripts/bench-gpu.mjs --budget-s 420 "$@" >"$out/bench-gpu.json"
cat "$out/bench-gpu.json"

log 'the page in headless Chromium'
if [ "$app" = "$repo" ] && [ -f apps/web/dist/index.html ]; then
  # --quick and --software mean the same to the page's measurement.
  page_flags=$(printf '%s\n' "$@" | grep -x -e '--quick' -e '--software' | tr '\n' ' ')
  # shellcheck disable=SC2086
  timeout 150 "$node" scripts/bench-gpu-page.mjs --timeout-s 120 $page_flags >"$out/bench-gpu-page.json"
else
  echo '{"page":null,"error":"the page is not built here (the packed CLI has no web app)"}' >"$out/bench-gpu-page.json"
fi
cat "$out/bench-gpu-page.json"
