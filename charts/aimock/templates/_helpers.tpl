{{/*
Names and labels used by every template of this chart.
*/}}

{{- define "aimock.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* "<release>-aimock", or the release name when it already contains the chart name. */}}
{{- define "aimock.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "aimock.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Selector labels of the operator pod. app.kubernetes.io/name is "<name>-operator", never the bare
"aimock" the mock servers carry (with instance=<stack>): a MockStack named like this release in
the same namespace must not select the operator pod through its Service.
*/}}
{{- define "aimock.selectorLabels" -}}
app.kubernetes.io/name: {{ include "aimock.name" . }}-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "aimock.labels" -}}
helm.sh/chart: {{ include "aimock.chart" . }}
{{ include "aimock.selectorLabels" . }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: aimock
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "aimock.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "aimock.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The operator image; also the default image of the mock servers it deploys. image.repository
has no default: the image is not published, so an install with the defaults stops here with
what to do instead of leaving the operator pod in ImagePullBackOff.
*/}}
{{- define "aimock.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- $missing := printf "image.repository is not set. The aimock image is not published to any registry: build it from the aimock checkout with `make image` (it tags ghcr.io/aimock/aimock:%s), load it into the cluster (kind load docker-image, k3d image import, minikube image load) or push it to a registry, then install with --set image.repository=ghcr.io/aimock/aimock (or your registry's repository). See docs/operator.md#the-image" .Chart.AppVersion }}
{{- $repository := required $missing .Values.image.repository }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" $repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repository $tag }}
{{- end }}
{{- end }}

{{/* True (non-empty) when the operator watches every namespace. */}}
{{- define "aimock.clusterWide" -}}
{{- if not .Values.watch.namespaces }}true{{ end }}
{{- end }}

{{/* True (non-empty) when kopf peering is on: more than one operator replica. */}}
{{- define "aimock.peering" -}}
{{- if gt (int .Values.operator.replicas) 1 }}true{{ end }}
{{- end }}

{{- define "aimock.webhookServiceName" -}}
{{- printf "%s-webhook" (include "aimock.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "aimock.webhookSecretName" -}}
{{- default (printf "%s-webhook-tls" (include "aimock.fullname" .)) .Values.webhook.certificate.secretName }}
{{- end }}

{{/*
The rules the operator needs in a namespace it watches (ClusterRole rules when cluster-wide,
Role rules in each watched namespace otherwise). Nothing else: Secrets only to create a stack's
admin-token Secret and check it exists (no list, watch, update or delete; the token reaches the
pods through secretKeyRef, which the kubelet resolves); of Pods, only what the config nudge,
the served-config probe and the back-off watch need (readiness itself comes from the
Deployment's status).
*/}}
{{- define "aimock.operatorRules" -}}
# The three aimock kinds: watched, and patched for kopf's progress annotations.
- apiGroups: ["aimock.dev"]
  resources: ["mockstacks", "fixtures", "chaospolicies"]
  verbs: ["get", "list", "watch", "patch", "update"]
# Their status subresources: conditions, observedGeneration, endpoints, ...
- apiGroups: ["aimock.dev"]
  resources: ["mockstacks/status", "fixtures/status", "chaospolicies/status"]
  verbs: ["get", "patch", "update"]
# What a MockStack is reconciled into (server-side apply: patch; owner references delete them).
- apiGroups: [""]
  resources: ["configmaps", "services"]
  verbs: ["create", "get", "list", "watch", "patch", "update", "delete"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["create", "get", "list", "watch", "patch", "update", "delete"]
# A stack's pods get the new config hash as an annotation after a config change: the pod
# update makes the kubelet sync the pod at once, which re-projects its ConfigMap volume (the
# edit is served in about a second instead of at the next periodic sync, up to a minute or
# more). They are watched (list, watch) for containers waiting in a back-off (CrashLoopBackOff,
# ImagePullBackOff), which the MockStack's Stalled condition reports. Nothing else of a pod is
# read or written.
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list", "watch", "patch"]
# status.servedReplicas: each ready pod's /health, read through the API server's pod proxy,
# says which config it serves. Only GET is granted, and the operator asks only for /health.
- apiGroups: [""]
  resources: ["pods/proxy"]
  verbs: ["get"]
# A MockStack's scheduled drift check (spec.drift).
- apiGroups: ["batch"]
  resources: ["cronjobs"]
  verbs: ["create", "get", "list", "watch", "patch", "update", "delete"]
{{- if .Values.rbac.adminTokenSecrets }}
# A MockStack without spec.adminTokenSecret gets a Secret <stack>-admin-token, and one with
# spec.tls but no secretName a Secret <stack>-tls, each created once (create) and looked up
# by metadata on each reconcile (get). RBAC cannot limit `get` to those
# names (resourceNames must be known in advance and cannot restrict create), so `get` covers
# every Secret in the namespace; the operator never lists, watches, updates or deletes one.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["create", "get"]
{{- end }}
# kopf posts Kubernetes events about the resources it handles.
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- if include "aimock.peering" . }}
# kopf peering: the replicas coordinate through the status of one peering object.
- apiGroups: ["kopf.dev"]
  resources: [{{ if include "aimock.clusterWide" . }}"clusterkopfpeerings"{{ else }}"kopfpeerings"{{ end }}]
  verbs: ["get", "list", "watch", "patch"]
{{- end }}
{{- end }}
