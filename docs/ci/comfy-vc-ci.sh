#!/usr/bin/env bash
# The incremental CI steps for one version, for any CI: run them with COMFY_CACHE_ROOT and COMFY_HOME
# restored from the CI's cache (see README.md beside this file). Usage: comfy-vc-ci.sh <id> [report.json]
set -euo pipefail
id="${1:?usage: comfy-vc-ci.sh <id> [report.json]}"
report="${2:-realize-report.json}"

# 1. The spec is fully pinned (exit 1 names what is not): CI never resolves a branch on its own.
npx tsx tasks validate "$id" --check
# 2. Build exactly the pins; the --json report (every task, ran or skipped, with its time) is the artifact.
npx tsx tasks realize "$id" --frozen --json > "$report"
# 3. Prove the home is the spec (commits, files, links, installed packages), read-only.
npx tsx tasks verify "$id"
