# DotMac on a cluster: the namespace, the credentials Secret and the Helm release of
# charts/dotmac. Credentials reach the chart only by Secret reference, never as values.

locals {
  namespace   = var.create_namespace ? kubernetes_namespace_v1.dotmac[0].metadata[0].name : var.namespace
  secret_name = var.existing_secret != "" ? var.existing_secret : kubernetes_secret_v1.credentials[0].metadata[0].name

  values = {
    image = {
      operator   = { tag = var.image_tag }
      ispRuntime = { tag = var.image_tag }
    }
    credentials = { existingSecret = local.secret_name }
    dataPlane   = { openbaoAddress = var.openbao_address }
    operator    = { replicas = var.operator_replicas }
    api         = { replicas = var.api_replicas }
    metrics = {
      serviceMonitor = { enabled = var.monitoring }
      podMonitor     = { enabled = var.monitoring }
      prometheusRule = { enabled = var.monitoring }
    }
  }
}

resource "kubernetes_namespace_v1" "dotmac" {
  count = var.create_namespace ? 1 : 0

  metadata {
    name = var.namespace
    labels = {
      "app.kubernetes.io/part-of" = "dotmac"
      # The Pod Security Standard the chart's pods meet.
      "pod-security.kubernetes.io/enforce" = "restricted"
    }
  }
}

resource "kubernetes_secret_v1" "credentials" {
  count = var.existing_secret == "" ? 1 : 0

  metadata {
    name      = "${var.release_name}-credentials"
    namespace = local.namespace
    labels = {
      "app.kubernetes.io/part-of" = "dotmac"
    }
  }

  data = {
    "platform-database-url" = var.platform_database_url
    "postgres-admin-url"    = var.postgres_admin_url
    "redis-admin-url"       = var.redis_admin_url
    "openbao-token"         = var.openbao_token
    "bootstrap-token"       = var.bootstrap_token
  }

  lifecycle {
    precondition {
      condition     = alltrue([for v in [var.platform_database_url, var.postgres_admin_url, var.redis_admin_url, var.openbao_token, var.bootstrap_token] : v != null])
      error_message = "Without existing_secret, set platform_database_url, postgres_admin_url, redis_admin_url, openbao_token and bootstrap_token."
    }
  }
}

resource "helm_release" "dotmac" {
  name       = var.release_name
  namespace  = local.namespace
  chart      = var.chart
  repository = var.chart_repository
  version    = var.chart_version

  # The CRDs come with the first install only; upgrades apply them first (see the README).
  skip_crds       = false
  atomic          = true
  cleanup_on_fail = true
  wait            = true
  timeout         = 600

  values = [yamlencode(local.values), yamlencode(var.values)]
}
