# DotMac with credentials this configuration holds (in a real setup, from a secret store such as
# a Vault data source or sops). terraform init && terraform apply -var-file=secrets.tfvars

terraform {
  required_version = ">= 1.3"

  required_providers {
    helm = {
      source  = "hashicorp/helm"
      version = "~> 2.12"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = ">= 2.25"
    }
  }
}

variable "kubeconfig" {
  description = "Path of the kubeconfig of the cluster to install into."
  type        = string
  default     = "~/.kube/config"
}

variable "platform_database_url" {
  description = "PostgreSQL URL of the platform database."
  type        = string
  sensitive   = true
}

variable "postgres_admin_url" {
  description = "PostgreSQL admin URL."
  type        = string
  sensitive   = true
}

variable "redis_admin_url" {
  description = "Redis admin URL."
  type        = string
  sensitive   = true
}

variable "openbao_token" {
  description = "The platform's OpenBao token."
  type        = string
  sensitive   = true
}

variable "bootstrap_token" {
  description = "The management API's first admin token."
  type        = string
  sensitive   = true
}

provider "kubernetes" {
  config_path = var.kubeconfig
}

provider "helm" {
  kubernetes {
    config_path = var.kubeconfig
  }
}

module "dotmac" {
  source = "../../dotmac"

  chart                 = "${path.module}/../../../charts/dotmac"
  platform_database_url = var.platform_database_url
  postgres_admin_url    = var.postgres_admin_url
  redis_admin_url       = var.redis_admin_url
  openbao_token         = var.openbao_token
  bootstrap_token       = var.bootstrap_token
  openbao_address       = "http://openbao.openbao.svc:8200"
  monitoring            = true
}

output "api_url" {
  description = "The management API inside the cluster."
  value       = module.dotmac.api_url
}
