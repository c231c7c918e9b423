#!/usr/bin/env bash
# Packs what scripts/device-gpu.sh needs on a Linux x64 GPU machine that can install nothing (no
# network): this Node binary, the CLI's production dependencies (`pnpm deploy`: the built packages and
# tfjs, with the `webgpu` package's Linux x64 Dawn only, no source maps) and the Debian packages of the
# Vulkan loader. Run here after `pnpm build`; writes .device-gpu/ (ignored by .gitignore, so the
# device tool carries it as an ignored path), about 60 MiB. Where the machine has Node, network and pnpm, skip this:
# device-gpu.sh installs what is missing itself.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.device-gpu
deploy=$(mktemp -d)
trap 'rm -rf "$deploy"' EXIT
rm -rf "$out" && mkdir -p "$out/debs"

pnpm --filter @rnnlm/cli deploy --prod --legacy "$deploy/app" >/dev/null
webgpu=$(find "$deploy/app/node_modules/.pnpm" -maxdepth 3 -type d -path '*/node_modules/webgpu' | head -1)
find "$webgpu/dist" -mindepth 1 -maxdepth 1 ! -name linux-x64 -exec rm -rf {} +
find "$deploy/app" -name '*.map' -delete
cp "$(command -v node)" "$deploy/node"
tar -C "$deploy" -cf - node app | xz -T0 -6 >"$out/app.tar.xz"

# The Vulkan loader for a bare machine (amd64, whatever this one is), as the device README says.
lists=$(mktemp -d)
o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
mkdir -p "$lists/partial"
apt-get "${o[@]}" update >/dev/null
(cd "$out/debs" && apt-get "${o[@]}" download libvulkan1 >/dev/null)
rm -rf "$lists"
du -sh "$out"/* >&2
