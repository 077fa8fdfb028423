output "namespace" {
  description = "Namespace of the platform."
  value       = local.namespace
}

output "release_name" {
  description = "Name of the Helm release."
  value       = helm_release.dotmac.name
}

output "chart_version" {
  description = "Version of the chart installed."
  value       = helm_release.dotmac.version
}

output "credentials_secret" {
  description = "Name of the Secret the operator and the management API read."
  value       = local.secret_name
}

output "api_url" {
  description = "The management API inside the cluster."
  value       = "http://${var.release_name == "dotmac" ? "dotmac" : "${var.release_name}-dotmac"}-api.${local.namespace}.svc:8000"
}
