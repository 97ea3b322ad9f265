{{/* Chart name, overridable with nameOverride. */}}
{{- define "resilience-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the release's objects: fullnameOverride, else the release name when it already
contains the chart name, else "<release>-<chart>". Kept to 52 characters so suffixes such as
"-leader-election" still fit in 63.
*/}}
{{- define "resilience-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "resilience-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object of the release. */}}
{{- define "resilience-operator.labels" -}}
helm.sh/chart: {{ include "resilience-operator.chart" . }}
{{ include "resilience-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: operator
{{- end }}

{{/* Labels that select the operator's pods (immutable once installed). */}}
{{- define "resilience-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "resilience-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount the operator runs as. */}}
{{- define "resilience-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "resilience-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The container image reference: repository@digest when a digest is set, else repository:tag (tag defaults to the chart's appVersion). */}}
{{- define "resilience-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* The leader-election Lease: one per release, so two releases in one namespace never share it. */}}
{{- define "resilience-operator.leaseName" -}}
{{- default (printf "%s-leader" (include "resilience-operator.fullname" .)) .Values.leaderElection.leaseName }}
{{- end }}

{{/* The metrics Service. */}}
{{- define "resilience-operator.metricsService" -}}
{{- include "resilience-operator.fullname" . }}-metrics
{{- end }}

{{/*
The job label Prometheus gives the operator's series when the chart's ServiceMonitor scrapes it:
the value of the Service's label metrics.serviceMonitor.jobLabel, else the Service's name.
*/}}
{{- define "resilience-operator.job" -}}
{{- if .Values.metrics.prometheusRule.job }}
{{- .Values.metrics.prometheusRule.job }}
{{- else if .Values.metrics.serviceMonitor.jobLabel }}
{{- $labels := include "resilience-operator.labels" . | fromYaml }}
{{- if not (hasKey $labels .Values.metrics.serviceMonitor.jobLabel) }}
{{- fail (printf "metrics.serviceMonitor.jobLabel %q is not a label of the metrics Service (one of: %s); or set metrics.prometheusRule.job" .Values.metrics.serviceMonitor.jobLabel (keys $labels | sortAlpha | join ", ")) }}
{{- end }}
{{- get $labels .Values.metrics.serviceMonitor.jobLabel }}
{{- else }}
{{- include "resilience-operator.metricsService" . }}
{{- end }}
{{- end }}

{{/* True ("true") when the replicas take part in leader election. */}}
{{- define "resilience-operator.leaderElect" -}}
{{- if or (gt (int .Values.replicaCount) 1) .Values.leaderElection.enabled }}true{{ end }}
{{- end }}

{{/* The port of /healthz, /readyz and /metrics. */}}
{{- define "resilience-operator.port" -}}
8080
{{- end }}

{{/* True ("true") when the Prometheus Operator's API is served. */}}
{{- define "resilience-operator.hasPrometheusOperator" -}}
{{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" }}true{{ end }}
{{- end }}

{{/* The admission webhook's Service (--webhook-service), named in its serving certificate. */}}
{{- define "resilience-operator.webhookService" -}}
{{- include "resilience-operator.fullname" . }}-webhook
{{- end }}

{{/* The Secret the operator keeps the webhook's CA and serving certificate in (--webhook-secret). */}}
{{- define "resilience-operator.webhookSecret" -}}
{{- include "resilience-operator.fullname" . }}-webhook-tls
{{- end }}

{{/* The Secret cert-manager writes the webhook's serving certificate to (webhook.certManager.enabled). */}}
{{- define "resilience-operator.webhookCertManagerSecret" -}}
{{- include "resilience-operator.fullname" . }}-webhook-cert
{{- end }}

{{/* Where the operator reads tls.crt and tls.key in cert-manager mode (--webhook-cert-dir). */}}
{{- define "resilience-operator.webhookCertDir" -}}
/tmp/k8s-webhook-server/serving-certs
{{- end }}

{{/* True ("true") when the operator makes and renews the webhook's certificate itself. */}}
{{- define "resilience-operator.webhookManagedTls" -}}
{{- if and .Values.webhook.enabled (not .Values.webhook.certManager.enabled) }}true{{ end }}
{{- end }}

{{/*
The operator Deployments, as a YAML list of {name, deployment, lease, selector, replicas}: without
shards one Deployment for every policy, exactly as before (name and selector empty); with shards
one per shard (docs/sharding.md), plus the default shard for the policies no shard label names.
Every Deployment leads through a Lease of its own: the default shard keeps the release's Lease
(an upgrade from one Deployment hands its policies over through it), a named shard gets
"<lease>-<name>". Names must be unique, so the Leases are; the operator's own arguments must not
be overridden for all shards at once through extraArgs.
*/}}
{{- define "resilience-operator.shards" -}}
{{- $fullname := include "resilience-operator.fullname" . }}
{{- $lease := include "resilience-operator.leaseName" . }}
{{- if not .Values.shards }}
- {name: "", deployment: {{ $fullname | quote }}, lease: {{ $lease | quote }}, selector: "", replicas: {{ int .Values.replicaCount }}}
{{- else }}
{{- range .Values.extraArgs }}
{{- if or (hasPrefix "--lease-name" (toString .)) (hasPrefix "--shard-selector" (toString .)) }}
{{- fail (printf "extraArgs %q would apply to every shard: with shards, each shard's --lease-name and --shard-selector come from shards[]" .) }}
{{- end }}
{{- end }}
{{- $seen := dict }}
{{- if .Values.defaultShard.enabled }}
{{- $_ := set $seen "default" true }}
- {name: "default", deployment: {{ printf "%s-default" $fullname | quote }}, lease: {{ $lease | quote }}, selector: {{ .Values.defaultShard.selector | quote }}, replicas: {{ int .Values.replicaCount }}}
{{- end }}
{{- range .Values.shards }}
{{- if hasKey $seen .name }}
{{- fail (printf "shards: the name %q is used twice (or is the default shard's): each shard needs its own name, Deployment and Lease" .name) }}
{{- end }}
{{- $_ := set $seen .name true }}
- {name: {{ .name | quote }}, deployment: {{ printf "%s-%s" $fullname .name | quote }}, lease: {{ printf "%s-%s" $lease .name | quote }}, selector: {{ .selector | default (printf "resilience.dev/shard=%s" .name) | quote }}, replicas: {{ int (.replicas | default $.Values.replicaCount) }}}
{{- end }}
{{- end }}
{{- end }}

{{/* The labels that select one Deployment's pods: the release's, and with shards the shard's name. Called with (dict "root" $ "shard" $shard). */}}
{{- define "resilience-operator.shardSelectorLabels" -}}
{{ include "resilience-operator.selectorLabels" .root }}
{{- if .shard.name }}
resilience.dev/operator-shard: {{ .shard.name }}
{{- end }}
{{- end }}

{{/* True ("true") when one Deployment's replicas take part in leader election. Called with (dict "root" $ "shard" $shard). */}}
{{- define "resilience-operator.shardLeaderElect" -}}
{{- if or (gt (int .shard.replicas) 1) .root.Values.leaderElection.enabled }}true{{ end }}
{{- end }}
