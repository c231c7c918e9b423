#!/usr/bin/env bash
# Checks that what each published package would ship resolves for its users: publint (package.json,
# exports, files) and Are the Types Wrong (types for every entry, ESM-only). Run after `pnpm build`.
set -euo pipefail
cd "$(dirname "$0")/.."
for dir in packages/*/ apps/cli/; do
  name=$(node -p "require('./${dir}package.json').name")
  if [ "$(node -p "require('./${dir}package.json').private === true")" = true ]; then continue; fi
  echo "== ${name}"
  (cd "$dir" && ../../node_modules/.bin/publint --strict)
  if [ "$dir" != apps/cli/ ]; then
    (cd "$dir" && ../../node_modules/.bin/attw --pack . --profile esm-only --format table-flipped)
  fi
done
