{{/* Chart name, truncated to the 63-character label limit. */}}
{{- define "aimodel-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name, plus the chart name unless the release name contains it. */}}
{{- define "aimodel-operator.fullname" -}}
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

{{- define "aimodel-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "aimodel-operator.labels" -}}
helm.sh/chart: {{ include "aimodel-operator.chart" . }}
{{ include "aimodel-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: aimodel-operator
{{- end }}

{{/* Labels selecting the operator pods. */}}
{{- define "aimodel-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "aimodel-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "aimodel-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "aimodel-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "aimodel-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Rules the operator needs in every namespace it watches. Least privilege: no wildcards, no
Secrets, no update verb on children (server-side apply is `patch`). `update` on
aimodels/finalizers is what setting blockOwnerDeletion on a child's owner reference requires
where the OwnerReferencesPermissionEnforcement admission plugin is on (OpenShift, OKD); the
operator writes no finalizers.
*/}}
{{- define "aimodel-operator.rules" -}}
- apiGroups: ["ai.openai.com"]
  resources: ["aimodels"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["ai.openai.com"]
  resources: ["aimodels/status"]
  verbs: ["update", "patch"]
- apiGroups: ["ai.openai.com"]
  resources: ["aimodels/finalizers"]
  verbs: ["update"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["services", "persistentvolumeclaims"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["monitoring.coreos.com"]
  resources: ["podmonitors"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
{{- if ne (toString .Values.operator.scaledObjects) "false" }}
- apiGroups: ["keda.sh"]
  resources: ["scaledobjects"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
{{- end }}
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/* Converts a Go-style duration made of whole seconds/minutes/hours ("30s", "1m", "1h30m") to seconds; other forms give -1. */}}
{{- define "aimodel-operator.durationSeconds" -}}
{{- $d := toString . }}
{{- if regexMatch "^([0-9]+h)?([0-9]+m)?([0-9]+s)?$" $d }}
{{- $h := regexFind "[0-9]+h" $d | trimSuffix "h" | default "0" | atoi }}
{{- $m := regexFind "[0-9]+m" $d | trimSuffix "m" | default "0" | atoi }}
{{- $s := regexFind "[0-9]+s" $d | trimSuffix "s" | default "0" | atoi }}
{{- add (mul $h 3600) (mul $m 60) $s }}
{{- else }}
{{- -1 }}
{{- end }}
{{- end }}

{{/* Milliseconds of a duration in the form the operator's flags accept (500ms, 1.5s, 1h30m), as a float. */}}
{{- define "aimodel-operator.durationMillis" -}}
{{- $total := 0.0 }}
{{- range regexFindAll `[0-9]+(\.[0-9]+)?(ms|s|m|h)` (toString .) -1 }}
{{- $unit := regexFind `(ms|s|m|h)$` . }}
{{- $factor := get (dict "ms" 1.0 "s" 1000.0 "m" 60000.0 "h" 3600000.0) $unit }}
{{- $total = addf $total (mulf (trimSuffix $unit . | float64) $factor) }}
{{- end }}
{{- $total }}
{{- end }}
