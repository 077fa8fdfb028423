//! DotMac end-to-end suite: tests in `tests/` run the real binaries, kubectl and HTTP clients
//! against `devcluster` (or a real cluster named by `DOTMAC_E2E_KUBECONFIG`).
