#!/usr/bin/env bash
# The whole test suite, with all set-up, on a fresh machine. `.ci/run` calls this.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# Installs the Debian packages whose command is missing (`command:package` pairs).
need_debian_packages() {
  local missing=()
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
}

step "Debian packages: git (sweeps), chromium (the sweep report test), groovy + a JRE (the Jenkins library tests)"
need_debian_packages git:git chromium:chromium groovy:groovy java:default-jre-headless
# Debian's groovy runs the JRE under /usr/lib/jvm/default-java unless JAVA_HOME names one; a
# machine whose `java` came from elsewhere (another JDK, an alternative) has no such directory.
if [ -z "${JAVA_HOME:-}" ] && [ ! -x /usr/lib/jvm/default-java/bin/java ]; then
  JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
  export JAVA_HOME
fi

step "Python tools (pytest, pytest-cov, mypy, coverage, pre-commit, moto)"
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -r tests/requirements.txt

step "checkov (its own virtual environment: it pins packages the other tools need newer)"
CHECKOV_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/lambda-gate-tests/checkov"
if ! "$CHECKOV_VENV/bin/checkov" --version 2>/dev/null | grep -qx "$(sed -n 's/^checkov==//p' tests/checkov-requirements.txt)"; then
  python3 -m venv "$CHECKOV_VENV"
  "$CHECKOV_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/checkov-requirements.txt
fi
export LAMBDA_GATE_CHECKOV="$CHECKOV_VENV/bin/checkov"

step "SARIF Multitool (npm): validates the SARIF logs as GitHub code scanning ingests them"
need_debian_packages npm:npm
SARIF_TOOL_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/lambda-gate-tests/sarif"
SARIF_MULTITOOL="$SARIF_TOOL_DIR/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
if [ ! -f "$SARIF_MULTITOOL" ]; then
  npm install --silent --no-audit --no-fund --prefix "$SARIF_TOOL_DIR" @microsoft/sarif-multitool@5.7.0 >/dev/null
fi
# npm may not run the package's own install script, which only marks the binary executable.
chmod u+x "$SARIF_MULTITOOL"
export LAMBDA_GATE_SARIF_MULTITOOL="$SARIF_MULTITOOL"
# A self-contained .NET program: without ICU on the machine it needs invariant globalization.
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1

step "The runner's real components: Docker Engine, binfmt/qemu, registry, moto; stand-in bases"
source tests/services.sh

# Before the Rust tests: its coverage report is part of what the gate (and the runner's
# pipeline test, which builds it) checks.
step "example-project: its own tests and the team's mypy defaults"
(
  cd example-project
  python3 -m pytest -q -p no:cacheprovider
  python3 -m mypy --cache-dir=/dev/null
)

step "Rust: formatting and lints"
cargo fmt --all -- --check
cargo clippy --release --all-targets --quiet -- -D warnings

step "The wheel (maturin; the release build the tests use, stripped) and the gate alone (--no-default-features)"
rm -rf target/wheels
maturin build --release --locked --quiet --out target/wheels
export LAMBDA_GATE_WHEEL_DIR="$PWD/target/wheels"
cargo build --release --locked --quiet --no-default-features --target-dir target/gate-only
export LAMBDA_GATE_GATE_ONLY="$PWD/target/gate-only/release/lambda-gate"

step "Rust: unit, fixture, snapshot and CLI tests (one release build)"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --release --no-fail-fast
else
  cargo test --release --no-fail-fast
fi

step "The book (mdBook): docs/ renders without a warning"
MDBOOK_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/lambda-gate-tests/mdbook"
if ! "$MDBOOK_ROOT/bin/mdbook" --version 2>/dev/null | grep -qx 'mdbook v0.5.4'; then
  cargo install --quiet --locked mdbook@0.5.4 --no-default-features --features search --root "$MDBOOK_ROOT"
fi
book_log="$(mktemp)"
"$MDBOOK_ROOT/bin/mdbook" build 2>&1 | tee "$book_log"
if grep -q 'WARN\|ERROR' "$book_log"; then
  echo "mdbook: the book has warnings (above)" >&2
  exit 1
fi

step "The gate on this repository"
cargo run --release --quiet -- check .
