#!/usr/bin/env bash
# Validate the Kubernetes manifests against the API schemas (strict: unknown fields fail).
# kubernetes-validate (PyPI) ships the schemas, so this runs offline once installed.
set -euo pipefail
cd "$(dirname "$0")"
for version in 1.29 1.37; do
  uvx --from kubernetes-validate kubernetes-validate --strict --quiet -k "$version" k8s/*.yaml
done
echo "manifests valid for Kubernetes 1.29 and 1.37"
