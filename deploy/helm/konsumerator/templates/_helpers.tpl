{{/* The name of every object the chart creates (as `konsumerator manifests` names them). */}}
{{- define "konsumerator.name" -}}konsumerator{{- end }}

{{/* The labels Helm adds to every object's metadata (the selector labels stay the operator's). */}}
{{- define "konsumerator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The operator's pods: the Deployment's selector and the Service's. */}}
{{- define "konsumerator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "konsumerator.name" . }}
{{- end }}

{{- define "konsumerator.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "konsumerator.checkMode" -}}
{{- if not (has .Values.mode (list "cluster" "guest")) }}
{{- fail (printf "mode must be cluster or guest, not %q" .Values.mode) }}
{{- end }}
{{- end }}

{{/* Non-empty when some notification target has a header from a Secret (so volumes are needed). */}}
{{- define "konsumerator.notifyHeaders" -}}
{{- range .Values.notifications.targets }}{{ if .headers }}yes{{ end }}{{ end }}
{{- end }}
