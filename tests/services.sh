# The runner's real components, started when they are not running (sourced by tests/run.sh):
# the Docker Engine, binfmt/qemu for arm64, an OCI registry and the moto server (ECR + SSM API),
# all on 127.0.0.1, and the stand-in base images in that registry. Exports what the tests read.

SERVICES_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/lambda-gate-tests/services"
mkdir -p "$SERVICES_DIR"
export LAMBDA_GATE_TEST_REGISTRY=127.0.0.1:5000
export LAMBDA_GATE_TEST_MOTO=http://127.0.0.1:5050

wait_until() { # wait_until SECONDS WHAT COMMAND...
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "$what did not start; its log:" >&2; return 1; }
    sleep 0.5
  done
}

need_debian_packages curl:curl dockerd:docker.io docker-registry:docker-registry skopeo:skopeo \
  qemu-aarch64-static:qemu-user-static update-binfmts:binfmt-support dpkg-deb:dpkg pgrep:procps

if ! docker info >/dev/null 2>&1; then
  nohup dockerd >"$SERVICES_DIR/dockerd.log" 2>&1 &
  wait_until 60 dockerd docker info || { tail -20 "$SERVICES_DIR/dockerd.log" >&2; exit 1; }
fi

# arm64 builds and runs go through qemu, registered with binfmt_misc.
[ -e /proc/sys/fs/binfmt_misc/status ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64

if ! curl -fsS "http://$LAMBDA_GATE_TEST_REGISTRY/v2/" >/dev/null 2>&1; then
  cat >"$SERVICES_DIR/registry.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: $SERVICES_DIR/registry
  delete:
    enabled: true
http:
  addr: $LAMBDA_GATE_TEST_REGISTRY
YAML
  nohup docker-registry serve "$SERVICES_DIR/registry.yml" >"$SERVICES_DIR/registry.log" 2>&1 &
  wait_until 30 registry curl -fsS "http://$LAMBDA_GATE_TEST_REGISTRY/v2/" \
    || { tail -20 "$SERVICES_DIR/registry.log" >&2; exit 1; }
fi

# moto, made as strict as ECR where it is more lenient (tests/standin/moto_strict.py: exclusion
# filters match the whole tag, an immutable tag is refused with ImageTagAlreadyExistsException).
# A lenient moto_server left running on the port is replaced.
if curl -fsS "$LAMBDA_GATE_TEST_MOTO/moto-api/" >/dev/null 2>&1 && ! pgrep -f standin/moto_strict.py >/dev/null; then
  pkill -f "moto_server -H 127.0.0.1 -p ${LAMBDA_GATE_TEST_MOTO##*:}" || true
  sleep 1
fi
if ! curl -fsS "$LAMBDA_GATE_TEST_MOTO/moto-api/" >/dev/null 2>&1; then
  nohup python3 "$(dirname "${BASH_SOURCE[0]}")/standin/moto_strict.py" -H 127.0.0.1 -p "${LAMBDA_GATE_TEST_MOTO##*:}" >"$SERVICES_DIR/moto.log" 2>&1 &
  wait_until 30 moto curl -fsS "$LAMBDA_GATE_TEST_MOTO/moto-api/" \
    || { tail -20 "$SERVICES_DIR/moto.log" >&2; exit 1; }
fi

# Stand-in base images (amd64 + arm64 roots from Debian packages), pushed as one index.
STANDIN_DEBS="busybox-static libc6 zlib1g libexpat1 python3.11-minimal libpython3.11-minimal libpython3.11-stdlib"
# Rebuilt when tests/standin changes (the registry keeps the previous one otherwise).
STANDIN_SUM=$(cat tests/standin/* | sha256sum | cut -c1-16)
if ! curl -fs -o /dev/null -H 'Accept: application/vnd.oci.image.index.v1+json' \
    "http://$LAMBDA_GATE_TEST_REGISTRY/v2/standin/lambda-python/manifests/3.12" \
    || [ "$(cat "$SERVICES_DIR/standin.sum" 2>/dev/null)" != "$STANDIN_SUM" ]; then
  dpkg --print-foreign-architectures | grep -qx arm64 || { dpkg --add-architecture arm64; apt-get update -qq; }
  for arch in amd64 arm64; do
    mkdir -p "$SERVICES_DIR/debs/$arch"
    (cd "$SERVICES_DIR/debs/$arch" && apt-get download -qq $(printf "%s:$arch " $STANDIN_DEBS) 2>/dev/null) \
      || { apt-get update -qq && (cd "$SERVICES_DIR/debs/$arch" && apt-get download -qq $(printf "%s:$arch " $STANDIN_DEBS)); }
  done
  python3 tests/standin/make_images.py --registry "$LAMBDA_GATE_TEST_REGISTRY" \
    --repository standin/lambda-python --tag 3.12 "$SERVICES_DIR/debs"
  echo "$STANDIN_SUM" > "$SERVICES_DIR/standin.sum"
fi
export LAMBDA_GATE_TEST_BASE="$LAMBDA_GATE_TEST_REGISTRY/standin/lambda-python:3.12"
