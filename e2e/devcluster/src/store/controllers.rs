//! The simulated controllers: Deployments report their replicas available after the rollout
//! delay (or as an autoscaler sets them), and Services get a cluster IP.

use super::*;

impl Store {
    /// The replicas an autoscaler targeting the Deployment `key` wants instead of `replicas`,
    /// when they fall outside its bounds.
    pub fn autoscaled_replicas(&self, key: &(String, String), replicas: i64) -> Option<i64> {
        let gr = GroupResource {
            group: "autoscaling".into(),
            resource: "horizontalpodautoscalers".into(),
        };
        let hpa = self.objects.get(&gr)?.iter().find_map(|((ns, _), hpa)| {
            (*ns == key.0
                && hpa
                    .pointer("/spec/scaleTargetRef/name")
                    .and_then(Value::as_str)
                    == Some(key.1.as_str()))
            .then_some(hpa)
        })?;
        let min = hpa
            .pointer("/spec/minReplicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let max = hpa
            .pointer("/spec/maxReplicas")
            .and_then(Value::as_i64)
            .unwrap_or(min);
        let bounded = replicas.clamp(min, max.max(min));
        (replicas > 0 && bounded != replicas).then_some(bounded)
    }

    /// Runs the simulated controllers that are due: a Deployment reports its replicas
    /// available shortly after it changes; a ServiceAccount token Secret gets its token.
    pub fn run_controllers(&mut self) -> usize {
        let now = Instant::now();
        let mut done = self.fill_token_secrets();
        while self.rollouts.front().is_some_and(|(due, _)| *due <= now) {
            let Some((_, key)) = self.rollouts.pop_front() else {
                break;
            };
            let gr = GroupResource {
                group: "apps".into(),
                resource: "deployments".into(),
            };
            let (Some(rt), Some(deployment)) =
                (self.registry.get(&gr), self.lookup(&gr, &key).cloned())
            else {
                continue;
            };
            if self.run_images.runs(
                deployment
                    .pointer("/spec/template/spec")
                    .unwrap_or(&Value::Null),
            ) {
                // Its pods run: the runtime reports its status from their readiness.
                continue;
            }
            let replicas = deployment
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            if let Some(bounded) = self.autoscaled_replicas(&key, replicas) {
                // The autoscaler moves replicas into its bounds (as the HPA controller does);
                // that write queues this rollout again.
                let mut scaled = deployment.clone();
                scaled["spec"]["replicas"] = json!(bounded);
                let ctx = WriteCtx {
                    manager: "horizontal-pod-autoscaler".into(),
                    dry_run: false,
                    validation: FieldValidation::Ignore,
                };
                if self
                    .finish_write(&rt, &key, Some(&deployment), scaled, Part::Main, &ctx, None)
                    .is_ok()
                {
                    done += 1;
                }
                continue;
            }
            let mut updated = deployment.clone();
            updated["status"] = simulated_status(&deployment, replicas);
            let ctx = WriteCtx {
                manager: CONTROLLER_MANAGER.into(),
                dry_run: false,
                validation: FieldValidation::Ignore,
            };
            if self
                .finish_write(
                    &rt,
                    &key,
                    Some(&deployment),
                    updated,
                    Part::Status,
                    &ctx,
                    None,
                )
                .is_ok()
            {
                done += 1;
            }
        }
        done
    }
}

/// The status of a Deployment whose images do not run: every replica available.
fn simulated_status(deployment: &Value, replicas: i64) -> Value {
    let generation = deployment
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let mut status = json!({"observedGeneration": generation});
    if replicas > 0 {
        status["replicas"] = json!(replicas);
        status["updatedReplicas"] = json!(replicas);
        status["readyReplicas"] = json!(replicas);
        status["availableReplicas"] = json!(replicas);
    }
    status["conditions"] = json!([
        {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability."},
        {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable", "message": "ReplicaSet has successfully progressed."}
    ]);
    status
}
