# Routine commands. `just --list` shows them; each works on a fresh Debian machine with Rust.

# Run the platform locally on embedded defaults (foreground; Ctrl-C stops it).
up:
    scripts/up

# Run every check and test (installs and starts what the tests need).
test *ARGS:
    scripts/test {{ARGS}}

# Formatting and clippy, as CI runs them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets --locked -- -D warnings

# Regenerate crds/ (and the chart's copy) from the Rust types in platform/src/crd/.
crds:
    cargo run --quiet --locked -p dotmac-operator -- crdgen --out-dir crds
    cargo run --quiet --locked -p dotmac-operator -- crdgen --out-dir charts/dotmac/crds

# Regenerate the README's table of the chart's values from charts/dotmac/values.schema.json.
values-table:
    cargo run --quiet --locked -p dotmac-e2e --bin values-table

# Regenerate openapi/ from the two APIs' request and response types.
openapi:
    cargo run --quiet --locked -p dotmac-operator -- openapi > openapi/management-api.json
    cargo run --quiet --locked -p dotmac-isp -- openapi > openapi/isp-runtime.json

# Start devcluster alone (state in .local/); then `export KUBECONFIG=.local/devcluster.kubeconfig`.
devcluster port="6443":
    cargo run --quiet --locked -p dotmac-devcluster --bin devcluster -- --listen 127.0.0.1:{{port}} --kubeconfig .local/devcluster.kubeconfig --data .local/devcluster.db

# Run the benchmarks and print their figures (all, or one by name: devcluster, converge [N], provision [N], billing [N], api, live [N], login [N], radius [N], portals).
bench what="all" *ARGS:
    scripts/bench {{what}} {{ARGS}}

# Build the container images with buildah (operator, isp-runtime or all; see scripts/image --help).
image *ARGS:
    scripts/image {{ARGS}}

# Install the project-local tools (kubectl, bao, just, schemathesis, cargo-nextest) into .tools/, and buildah.
tools:
    scripts/tools
