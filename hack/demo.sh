#!/usr/bin/env bash
# The demo: a local control plane (built once, cached), the node simulator, the CRDs and
# config/samples, the operator, a fault injected into the primary, failover and failback,
# printed live. Exits 0 when it has shown all of it; --watch keeps it running. --stateful runs the
# second scenario instead: a StatefulSet failover with fence and promote.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash hack/control-plane.sh build
bash hack/tools.sh
export PATH="$(bash hack/tools.sh --bin-dir):$PATH"
dotnet build src/Demo -c Release -v quiet -nologo 2>&1 | grep -E "error|Warn" || true
exec dotnet run --no-build -c Release --project src/Demo -- demo "$@"
