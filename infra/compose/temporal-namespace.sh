#!/bin/sh
# Registers the Temporal namespace dure's services use (the server image does
# not create one), in the temporalio/admin-tools image. It waits for the
# server to answer health checks first, for at most WAIT_S seconds.
# Environment: TEMPORAL_ADDRESS, DURE_NAMESPACE (default "default"),
# NAMESPACE_RETENTION (how long closed workflows' history is kept, default
# 720h), WAIT_S (default 120).
set -eu
ns=${DURE_NAMESPACE:-default}
deadline=$(( $(date +%s) + ${WAIT_S:-120} ))
until temporal operator cluster health >/dev/null 2>&1; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "temporal-namespace: $TEMPORAL_ADDRESS not healthy after ${WAIT_S:-120}s" >&2
    exit 1
  fi
  sleep 2
done
if temporal operator namespace describe --namespace "$ns" >/dev/null 2>&1; then
  echo "temporal-namespace: $ns exists"
  exit 0
fi
temporal operator namespace create --namespace "$ns" --retention "${NAMESPACE_RETENTION:-720h}"
echo "temporal-namespace: $ns created"
