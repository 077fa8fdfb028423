variable "namespace" {
  description = "Namespace of the platform (operator, management API, credentials)."
  type        = string
  default     = "dotmac-system"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "The namespace must be a DNS label: lowercase letters, digits and '-', at most 63 characters."
  }
}

variable "create_namespace" {
  description = "Create the namespace (false when it exists already)."
  type        = bool
  default     = true
}

variable "release_name" {
  description = "Name of the Helm release."
  type        = string
  default     = "dotmac"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$", var.release_name))
    error_message = "The release name must be lowercase letters, digits and '-', at most 53 characters."
  }
}

variable "chart" {
  description = "The dotmac chart: a path (../../charts/dotmac) or a chart name in chart_repository."
  type        = string
  default     = "../../charts/dotmac"
}

variable "chart_repository" {
  description = "Helm repository (https:// or oci://) holding the chart; none for a path."
  type        = string
  default     = null

  validation {
    condition     = var.chart_repository == null || can(regex("^(https|oci)://", var.chart_repository))
    error_message = "The chart repository must be an https:// or oci:// URL."
  }
}

variable "chart_version" {
  description = "Version of the chart; the newest when null (a path has one)."
  type        = string
  default     = null
}

variable "image_tag" {
  description = "Tag (or sha256: digest) of the operator and isp-runtime images; the chart's appVersion when empty."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^$|^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$|^sha256:[a-f0-9]{64}$", var.image_tag))
    error_message = "The image tag must be a Docker tag or a sha256: digest."
  }
}

variable "existing_secret" {
  description = "A Secret in the namespace that already holds the credentials; the module makes one from the credential variables when empty."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^$|^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", var.existing_secret))
    error_message = "The existing Secret's name must be a DNS subdomain name."
  }
}

variable "platform_database_url" {
  description = "PostgreSQL URL of the platform database (when the module makes the Secret)."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.platform_database_url == null || can(regex("^postgres(ql)?://", var.platform_database_url))
    error_message = "The platform database URL must be a postgres:// URL."
  }
}

variable "postgres_admin_url" {
  description = "PostgreSQL admin URL: a role that may create roles and databases."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.postgres_admin_url == null || can(regex("^postgres(ql)?://", var.postgres_admin_url))
    error_message = "The PostgreSQL admin URL must be a postgres:// URL."
  }
}

variable "redis_admin_url" {
  description = "Redis admin URL: a user that may manage ACL users."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.redis_admin_url == null || can(regex("^rediss?://", var.redis_admin_url))
    error_message = "The Redis admin URL must be a redis:// or rediss:// URL."
  }
}

variable "openbao_token" {
  description = "The platform's OpenBao token."
  type        = string
  default     = null
  sensitive   = true
}

variable "bootstrap_token" {
  description = "The management API's first admin token; at least 32 characters."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.bootstrap_token == null || length(coalesce(var.bootstrap_token, "")) >= 32
    error_message = "The bootstrap token must be at least 32 characters long."
  }
}

variable "openbao_address" {
  description = "OpenBao address as the operator reaches it."
  type        = string
  default     = "http://openbao.openbao.svc:8200"

  validation {
    condition     = can(regex("^https?://", var.openbao_address))
    error_message = "The OpenBao address must be an http:// or https:// URL."
  }
}

variable "operator_replicas" {
  description = "Replicas of the operator (one leads, the others stand by)."
  type        = number
  default     = 2

  validation {
    condition     = var.operator_replicas >= 1 && floor(var.operator_replicas) == var.operator_replicas
    error_message = "The operator needs a whole number of replicas, at least 1."
  }
}

variable "api_replicas" {
  description = "Replicas of the management API."
  type        = number
  default     = 2

  validation {
    condition     = var.api_replicas >= 1 && floor(var.api_replicas) == var.api_replicas
    error_message = "The management API needs a whole number of replicas, at least 1."
  }
}

variable "monitoring" {
  description = "Install the ServiceMonitor, the tenant PodMonitor and the alert rules (needs the Prometheus Operator's CRDs)."
  type        = bool
  default     = false
}

variable "values" {
  description = "Further chart values (see the README's values table), merged over the module's."
  type        = any
  default     = {}
}
