#!/usr/bin/env bash
# The whole test suite: type-check, unit tests beside the code, then end-to-end tests
# that start real servers and drive them with /usr/bin/kubectl.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
echo "== typecheck"; tsc --noEmit -p .
echo "== unit"; node --test --test-concurrency=2 'src/**/*.test.ts' 'tools/**/*.test.ts'
echo "== e2e"; node --test --test-concurrency=1 'test/e2e/**/*.test.ts'
# The same end-to-end suite once more with every server on its own real etcd
# (--datastore-endpoint), so the etcd backend is held to the same contract.
echo "== e2e on etcd"; SKIFF_E2E_DATASTORE=etcd node --test --test-concurrency=1 'test/e2e/**/*.test.ts'
