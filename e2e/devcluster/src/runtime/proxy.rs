//! Services on loopback: each port of a Service with a cluster IP listens on that IP (a
//! loopback address devcluster hands out) and forwards every connection to one of the
//! Service's ready pods, in turn, the way kube-proxy balances.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
};

use serde_json::Value;
use tokio::{net::TcpListener, task::JoinHandle};

use super::probe::named_port;

/// One Service port: where it listens and where it forwards.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    /// `clusterIP:port`.
    pub listen: SocketAddr,
    /// Ready pods' `podIP:targetPort`.
    pub endpoints: Vec<SocketAddr>,
}

/// The routes of `service` given the pods of its namespace.
pub fn routes(service: &Value, pods: &[&Value]) -> Vec<Route> {
    let Some(ip) = service
        .pointer("/spec/clusterIP")
        .and_then(Value::as_str)
        .and_then(|ip| ip.parse::<std::net::IpAddr>().ok())
        .filter(std::net::IpAddr::is_loopback)
    else {
        return Vec::new();
    };
    let selector = service.pointer("/spec/selector").and_then(Value::as_object);
    let members: Vec<&&Value> = pods
        .iter()
        .filter(|p| {
            selector.is_some_and(|s| {
                !s.is_empty()
                    && s.iter().all(|(k, v)| {
                        p.pointer("/metadata/labels").and_then(|l| l.get(k)) == Some(v)
                    })
            }) && super::rollout::ready(p)
                && p.pointer("/metadata/deletionTimestamp").is_none()
        })
        .collect();
    let ports = service
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    ports
        .iter()
        .filter(|p| p.get("protocol").and_then(Value::as_str).unwrap_or("TCP") == "TCP")
        .filter_map(|port| {
            let number = u16::try_from(port.get("port")?.as_u64()?).ok()?;
            let target = port
                .get("targetPort")
                .cloned()
                .unwrap_or(Value::from(number));
            let mut endpoints: Vec<SocketAddr> = members
                .iter()
                .filter_map(|pod| endpoint(pod, &target))
                .collect();
            endpoints.sort();
            Some(Route {
                listen: SocketAddr::new(ip, number),
                endpoints,
            })
        })
        .collect()
}

/// A pod's address on `target` (a number, or a container port's name).
fn endpoint(pod: &Value, target: &Value) -> Option<SocketAddr> {
    let ip = pod.pointer("/status/podIP")?.as_str()?.parse().ok()?;
    let port = match target {
        Value::Number(n) => u16::try_from(n.as_u64()?).ok()?,
        Value::String(name) => pod
            .pointer("/spec/containers")?
            .as_array()?
            .iter()
            .find_map(|c| named_port(c, name))?,
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// A listener and the endpoints it forwards to.
#[derive(Debug)]
struct Listener {
    endpoints: Arc<Mutex<Vec<SocketAddr>>>,
    task: JoinHandle<()>,
}

/// The running Service listeners, by address.
#[derive(Debug, Default)]
pub struct Proxies {
    listeners: BTreeMap<SocketAddr, Listener>,
}

impl Proxies {
    /// Makes the listeners match `routes`: new ones bound, gone ones closed, endpoints updated.
    pub fn sync(&mut self, routes: Vec<Route>) {
        let wanted: BTreeMap<SocketAddr, Vec<SocketAddr>> = routes
            .into_iter()
            .map(|r| (r.listen, r.endpoints))
            .collect();
        self.listeners.retain(|addr, l| {
            let keep = wanted.contains_key(addr) && !l.task.is_finished();
            if !keep {
                l.task.abort();
            }
            keep
        });
        for (addr, endpoints) in wanted {
            match self.listeners.get(&addr) {
                Some(l) => *l.endpoints.lock().unwrap_or_else(PoisonError::into_inner) = endpoints,
                None => {
                    let shared = Arc::new(Mutex::new(endpoints));
                    let task = tokio::spawn(serve(addr, shared.clone()));
                    self.listeners.insert(
                        addr,
                        Listener {
                            endpoints: shared,
                            task,
                        },
                    );
                }
            }
        }
    }
}

impl Drop for Proxies {
    fn drop(&mut self) {
        for l in self.listeners.values() {
            l.task.abort();
        }
    }
}

/// Accepts on `addr` and forwards each connection to the next endpoint.
async fn serve(addr: SocketAddr, endpoints: Arc<Mutex<Vec<SocketAddr>>>) {
    let listener = match TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(%addr, error = %e, "cannot listen for the Service; retrying");
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            return;
        }
    };
    let next = Arc::new(AtomicUsize::new(0));
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else {
            continue;
        };
        let target = {
            let list = endpoints.lock().unwrap_or_else(PoisonError::into_inner);
            (!list.is_empty()).then(|| list[next.fetch_add(1, Ordering::Relaxed) % list.len()])
        };
        let Some(target) = target else {
            continue;
        };
        tokio::spawn(async move {
            if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_service_routes_to_its_ready_pods_by_port_name() {
        let service = json!({"spec": {"clusterIP": "127.96.0.3", "selector": {"app": "isp"},
            "ports": [{"port": 80, "targetPort": "http"}]}});
        let pod = |ip: &str, ready: &str, app: &str| {
            json!({"metadata": {"labels": {"app": app}},
                   "spec": {"containers": [{"ports": [{"name": "http", "containerPort": 8001}]}]},
                   "status": {"podIP": ip, "conditions": [{"type": "Ready", "status": ready}]}})
        };
        let (a, b, c) = (
            pod("127.10.0.2", "True", "isp"),
            pod("127.10.0.3", "False", "isp"),
            pod("127.10.0.4", "True", "other"),
        );
        let r = routes(&service, &[&a, &b, &c]);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].listen, "127.96.0.3:80".parse().unwrap());
        assert_eq!(r[0].endpoints, vec!["127.10.0.2:8001".parse().unwrap()]);
    }
}
