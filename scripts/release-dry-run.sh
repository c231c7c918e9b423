#!/usr/bin/env bash
# What `pnpm release` would do, without publishing: the release plan from the pending changesets, then
# `changeset version` (what `pnpm version-packages` does: versions, changelogs) applied in a throwaway
# worktree of the committed state, and every public package at its new version put through
# `pnpm publish --dry-run`. The checkout itself is never touched. Run after `pnpm build`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
plan=$(mktemp)
log=$(mktemp)
tmp=$(mktemp -d)
wt="$tmp/release"
cleanup() {
  git -C "$root" worktree remove --force "$wt" >/dev/null 2>&1 || true
  rm -rf "$plan" "$log" "$tmp"
}
trap cleanup EXIT

pnpm changeset status --output="$plan" >/dev/null
node -e '
  const { releases } = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(releases.length ? "release plan: " + releases.map((r) => `${r.name} ${r.oldVersion} -> ${r.newVersion}`).join(", ") : "release plan: nothing to release");
' "$plan"

git worktree add --detach "$wt" HEAD >/dev/null 2>&1
# The copy gets this checkout's installed dependencies and built output (the same sources: HEAD).
for dir in . packages/* apps/* tooling/*; do
  [ -d "$dir/node_modules" ] && ln -s "$root/$dir/node_modules" "$wt/$dir/node_modules"
  for out in dist generated; do
    if [ -d "$dir/$out" ] && [ "$dir" != . ]; then cp -R "$dir/$out" "$wt/$dir/$out"; fi
  done
done

cd "$wt"
if ! pnpm changeset version >"$log" 2>&1; then
  cat "$log"
  exit 1
fi
node -e '
  const { execSync } = require("child_process");
  const changed = execSync("git diff --name-only", { encoding: "utf8" }).split("\n").filter((f) => f.endsWith("package.json"));
  const versions = changed.map((f) => { const p = require(require("path").resolve(f)); return `${p.name}@${p.version}`; });
  console.log(versions.length ? "changeset version: " + versions.join(", ") : "changeset version: no version changed");
'
if ! pnpm -r publish --dry-run --no-git-checks >"$log" 2>&1; then
  cat "$log"
  exit 1
fi
grep '^+ ' "$log" | sed 's/^+ /would publish /'
