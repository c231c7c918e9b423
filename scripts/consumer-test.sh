#!/usr/bin/env bash
# Proves the packages work outside the monorepo: packs every published package, installs the tarballs
# with plain npm into a fresh project, runs there the README's "Using the packages" example (tfjs-core
# and the cpu backend only), and runs the packed CLI's --help and a tiny train. Run after `pnpm build`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/rnnlm-consumer-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tarballs" "$work/app"

for dir in "$root"/packages/*/ "$root"/apps/cli/; do
  if [ "$(node -p "require('${dir}package.json').private === true")" = true ]; then continue; fi
  (cd "$dir" && pnpm pack --pack-destination "$work/tarballs" >/dev/null)
done
echo "packed: $(cd "$work/tarballs" && ls | tr '\n' ' ')"

# The example is taken from the README itself, so the README cannot drift from what is tested.
node -e '
  const text = require("fs").readFileSync(process.argv[1], "utf8");
  const section = text.split(/^## Using the packages$/m)[1];
  if (!section) throw new Error("README.md has no \"## Using the packages\" section");
  const code = section.match(/```js\n([\s\S]*?)```/);
  if (!code) throw new Error("the \"Using the packages\" section has no js example");
  require("fs").writeFileSync(process.argv[2], code[1]);
' "$root/README.md" "$work/app/example.mjs"

cd "$work/app"
npm init -y >/dev/null
npm install --no-audit --no-fund --loglevel=error "$work"/tarballs/*.tgz \
  @tensorflow/tfjs-core@4.22.0 @tensorflow/tfjs-backend-cpu@4.22.0 @tensorflow/tfjs-layers@4.22.0
echo "== the README example"
node example.mjs | tee example.out
grep -q '^perplexity ' example.out

echo "== the packed CLI"
npx --no-install rnnlm --help
printf 'the quick brown fox jumps over the lazy dog. %.0s' $(seq 1 60) > tiny.txt
npx --no-install rnnlm train --corpus tiny.txt --backend cpu --cell gru --hidden 8 --epochs 2 \
  --batch-size 4 --num-steps 8 --out model --prefix "the " --optimizer adam --lr 0.05
test -f model/model.json
npx --no-install rnnlm generate --model model --prefix "the quick" --length 20 --backend cpu
echo "consumer test: passed"
