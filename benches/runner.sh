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

# 3. BuildKit vs the classic builder on the example project, both platforms, no push: a cold
# build, a rebuild after a one-line source change, and a rebuild after a one-line change of the
# dependency list. The stand-in base's pip (tests/standin/pip) "downloads" each pinned
# requirement into pip's cache in PIP_STANDIN_DOWNLOAD_SECONDS (1 s here); the BuildKit variant
# keeps that cache in a cache mount, the classic one cannot (`--no-cache-dir`, as the example).
bk=$work/bk
mkdir -p "$bk"
cp -r example-project "$bk/project"
printf 'boto3-stubs==1.35.0\npydantic==2.9.2\nrequests==2.32.3\nurllib3==2.2.3\nattrs==24.2.0\n' \
  >> "$bk/project/requirements.txt"
pip_step='RUN pip install --no-cache-dir --requirement ${LAMBDA_TASK_ROOT}/requirements.txt --target ${LAMBDA_TASK_ROOT}'
sed -i "s|^RUN pip install.*|ENV PIP_STANDIN_DOWNLOAD_SECONDS=1\n$pip_step|" "$bk/project/Dockerfile"
cp "$bk/project/Dockerfile" "$bk/project/Dockerfile.classic"
sed -i 's|^RUN pip install --no-cache-dir|RUN --mount=type=cache,target=/root/.cache/pip pip install|' "$bk/project/Dockerfile"
(cd "$bk" && git init -q && git add -A && git -c user.name=b -c user.email=b@example.com commit -qm bench)
export bk BASE GATE
build_with() { # build_with buildkit|classic
  local dockerfile=Dockerfile; [ "$1" = classic ] && dockerfile=Dockerfile.classic
  "$GATE" build "$bk/project" --builder "$1" --dockerfile "$dockerfile" --no-smoke -q \
    --build-arg "BASE_IMAGE=$BASE" >/dev/null
}
forget() { # nothing cached: BuildKit's cache (and its cache mounts), the classic builder's images
  docker builder prune -af >/dev/null
  docker images -q 'lambda-gate/project' | sort -u | xargs -r docker rmi -f >/dev/null 2>&1 || true
  docker image prune -f >/dev/null
}
export -f build_with forget
hyperfine --shell bash --runs 3 --export-markdown "$work/cold.md" \
  --prepare forget -n 'BuildKit, cold' 'build_with buildkit' \
  --prepare forget -n 'classic, cold' 'build_with classic'
build_with buildkit; build_with classic
hyperfine --shell bash --runs 5 --export-markdown "$work/source.md" \
  --prepare 'echo "# $RANDOM$RANDOM" >> $bk/project/app/handler.py' \
  -n 'BuildKit, one-line source change' 'build_with buildkit' \
  -n 'classic, one-line source change' 'build_with classic'
hyperfine --shell bash --runs 5 --export-markdown "$work/deps.md" \
  --prepare 'echo "pkg$RANDOM$RANDOM==1.0" >> $bk/project/requirements.txt' \
  -n 'BuildKit + cache mount, one dependency added' 'build_with buildkit' \
  -n 'classic, one dependency added' 'build_with classic'
cat "$work/cold.md" "$work/source.md" "$work/deps.md"
