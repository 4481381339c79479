#!/usr/bin/env bash
# The runner's figures in BENCHMARKS.md, side by side in one run. Needs the services
# tests/services.sh starts (run `bash tests/run.sh` once) and hyperfine.
#
#   bash benches/runner.sh
set -euo pipefail
cd "$(dirname "$0")/.."
REGISTRY=${LAMBDA_GATE_TEST_REGISTRY:-127.0.0.1:5000}
BASE=${LAMBDA_GATE_TEST_BASE:-$REGISTRY/standin/lambda-python:3.12}
GATE=$PWD/target/release/lambda-gate
cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. Promotion of a ~200 MB image: manifest copy vs docker pull + tag + push.
mkdir -p "$work/big"
printf 'FROM %s\nRUN head -c 200000000 /dev/urandom > /payload\n' "$BASE" > "$work/big/Dockerfile"
docker pull -q --platform linux/amd64 "$BASE" >/dev/null
docker build -q --platform linux/amd64 -t "$REGISTRY/bench/big:test" "$work/big" >/dev/null
docker push -q "$REGISTRY/bench/big:test" >/dev/null
echo 0 > "$work/n"
# Fresh tags every run: a tag from an earlier run names another image and would not move.
RUN=$(date +%s)
next() { n=$(($(cat "$work/n") + 1)); echo "$n" > "$work/n"; echo "$RUN-$n"; }
export -f next; export work GATE REGISTRY RUN
hyperfine --shell bash --warmup 1 --runs 10 --export-markdown "$work/promote.md" \
  -n 'lambda-gate promote' \
  "bash -c '\$GATE promote \$REGISTRY/bench/big --from test --to p\$(next)'" \
  -n 'docker pull && docker tag && docker push' \
  --prepare "docker images -q $REGISTRY/bench/big | sort -u | xargs -r docker rmi -f >/dev/null 2>&1; true" \
  "bash -c 'n=\$(next); docker pull -q \$REGISTRY/bench/big:test >/dev/null && docker tag \$REGISTRY/bench/big:test \$REGISTRY/bench/big:d\$n && docker push -q \$REGISTRY/bench/big:d\$n >/dev/null'"
cat "$work/promote.md"

# 2. A no-op rebuild (inputs unchanged, both platforms) vs a cached `docker build` per platform.
"$GATE" build example-project --build-arg "BASE_IMAGE=$BASE" --push "$REGISTRY/bench/example" --tag bench -q >/dev/null
# The Engine keeps one platform per name: the cached docker build is measured for linux/amd64.
docker pull -q --platform linux/amd64 "$BASE" >/dev/null
docker build -q --platform linux/amd64 --build-arg "BASE_IMAGE=$BASE" -t bench/example-amd64 example-project >/dev/null
hyperfine --warmup 2 --runs 20 --export-markdown "$work/noop.md" \
  -n 'lambda-gate build (no-op, 2 platforms, gate included)' \
  "$GATE build example-project --build-arg BASE_IMAGE=$BASE --push $REGISTRY/bench/example --tag bench -q" \
  -n 'docker build, cached, linux/amd64' \
  "docker build -q --platform linux/amd64 --build-arg BASE_IMAGE=$BASE -t bench/example-amd64 example-project"
cat "$work/noop.md"
