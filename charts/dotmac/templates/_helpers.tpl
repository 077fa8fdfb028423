{{/* The release's base name: "dotmac" for a release called dotmac, else <release>-dotmac. */}}
{{- define "dotmac.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels every object carries. */}}
{{- define "dotmac.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/part-of: dotmac
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component ("operator" or "api"). */}}
{{- define "dotmac.selector" -}}
app.kubernetes.io/name: dotmac-{{ .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* The operator image, by tag or digest. */}}
{{- define "dotmac.operatorImage" -}}
{{- $tag := .Values.image.operator.tag | default .Chart.AppVersion -}}
{{- if hasPrefix "sha256:" $tag -}}
{{- printf "%s@%s" .Values.image.operator.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.operator.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* The management API's Service URL. */}}
{{- define "dotmac.apiServiceUrl" -}}
{{- printf "http://%s-api.%s.svc:%v" (include "dotmac.fullname" .) .Release.Namespace .Values.api.service.port -}}
{{- end -}}

{{/* The management API's URL as instances reach it. */}}
{{- define "dotmac.apiUrl" -}}
{{- .Values.tenants.instanceApiUrl | default (include "dotmac.apiServiceUrl" .) -}}
{{- end -}}

{{/* Default anti-affinity: replicas of one component on different nodes, when possible. */}}
{{- define "dotmac.antiAffinity" -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "dotmac.selector" . | nindent 12 }}
{{- end -}}

{{/* The restricted pod security context (Pod Security Standards "restricted"). */}}
{{- define "dotmac.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "dotmac.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* An environment variable read from the credentials Secret. */}}
{{- define "dotmac.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .root.Values.credentials.existingSecret }}
      key: {{ .key }}
{{- end -}}

{{/* What both components read: the platform database and the plugin catalog. */}}
{{- define "dotmac.platformEnv" -}}
{{ include "dotmac.secretEnv" (dict "root" . "name" "DOTMAC_PLATFORM_DATABASE_URL" "key" .Values.credentials.keys.platformDatabaseUrl) }}
- name: DOTMAC_LOG_FORMAT
  value: json
{{- with .Values.pluginCatalog.configMap }}
- name: DOTMAC_PLUGIN_CATALOG_CONFIGMAP
  value: {{ printf "%s/%s" $.Release.Namespace . | quote }}
{{- end }}
{{- end -}}
