#!/usr/bin/env bash
# What `pnpm release` would do, without publishing: the release plan from the pending changesets, then
# every public package packed and put through `pnpm publish --dry-run`. Run after `pnpm build`.
set -euo pipefail
cd "$(dirname "$0")/.."
plan=$(mktemp)
log=$(mktemp)
trap 'rm -f "$plan" "$log"' EXIT
pnpm changeset status --output="$plan" >/dev/null
node -e '
  const { releases } = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(releases.length ? "release plan: " + releases.map((r) => `${r.name} ${r.oldVersion} -> ${r.newVersion}`).join(", ") : "release plan: nothing to release");
' "$plan"
if ! pnpm -r publish --dry-run --no-git-checks >"$log" 2>&1; then
  cat "$log"
  exit 1
fi
grep '^+ ' "$log" | sed 's/^+ /would publish /'
