//! When a server should stop: SIGTERM, which Kubernetes sends a pod's containers (and which a
//! program running as PID 1 of its container ignores unless it handles it), or Ctrl-C.

/// Resolves on SIGTERM or Ctrl-C.
pub async fn requested() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = ctrl_c => {},
                _ = term.recv() => {},
            }
        }
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops this process");
            let _ = ctrl_c.await;
        }
    }
}
