{{/* Chart name and release-scoped full name. */}}
{{- define "evalpod.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "evalpod.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "evalpod.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "evalpod.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "evalpod.selectorLabels" -}}
app.kubernetes.io/name: {{ include "evalpod.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "evalpod.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if hasPrefix "@" $tag -}}
{{ .Values.image.repository }}{{ $tag }}
{{- else -}}
{{ .Values.image.repository }}:{{ $tag }}
{{- end -}}
{{- end -}}

{{- define "evalpod.runtimeImage" -}}
{{- $tag := default .Chart.AppVersion .Values.evaluations.image.tag -}}
{{- if hasPrefix "@" $tag -}}
{{ .Values.evaluations.image.repository }}{{ $tag }}
{{- else -}}
{{ .Values.evaluations.image.repository }}:{{ $tag }}
{{- end -}}
{{- end -}}

{{- define "evalpod.secretName" -}}
{{- required "existingSecret is required: a Secret with EVALPOD_DATABASE_URL and EVALPOD_REDIS_URL" .Values.existingSecret -}}
{{- end -}}

{{/* Environment shared by every component: secrets by reference, backend settings. */}}
{{- define "evalpod.env" -}}
- name: EVALPOD_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "evalpod.secretName" . }}
      key: {{ .Values.secretKeys.databaseUrl }}
- name: EVALPOD_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "evalpod.secretName" . }}
      key: {{ .Values.secretKeys.redisUrl }}
- name: EVALPOD_HOME
  value: /var/lib/evalpod
- name: EVALPOD_BACKEND
  value: kubernetes
- name: EVALPOD_K8S_IN_CLUSTER
  value: "true"
- name: EVALPOD_K8S_NAMESPACE
  value: {{ .Values.evaluations.namespace | quote }}
- name: EVALPOD_K8S_IMAGE
  value: {{ include "evalpod.runtimeImage" . | quote }}
- name: EVALPOD_K8S_IMAGE_PULL_POLICY
  value: {{ .Values.evaluations.image.pullPolicy | quote }}
{{- with .Values.evaluations.runtimeClass.name }}
- name: EVALPOD_K8S_RUNTIME_CLASS
  value: {{ . | quote }}
{{- end }}
{{- with .Values.evaluations.gpuRuntimeClassName }}
- name: EVALPOD_K8S_GPU_RUNTIME_CLASS
  value: {{ . | quote }}
{{- end }}
{{- with .Values.evaluations.seccompLocalhostProfile }}
- name: EVALPOD_K8S_SECCOMP_LOCALHOST_PROFILE
  value: {{ . | quote }}
{{- end }}
- name: EVALPOD_K8S_EGRESS_CIDRS
  value: {{ .Values.evaluations.egressCidrs | toJson | quote }}
- name: EVALPOD_K8S_NODE_SELECTOR
  value: {{ .Values.evaluations.nodeSelector | toJson | quote }}
- name: EVALPOD_K8S_GPU_NODE_SELECTOR
  value: {{ .Values.evaluations.gpuNodeSelector | toJson | quote }}
- name: EVALPOD_K8S_TOLERATIONS
  value: {{ .Values.evaluations.tolerations | toJson | quote }}
- name: EVALPOD_K8S_GPU_TOLERATIONS
  value: {{ .Values.evaluations.gpuTolerations | toJson | quote }}
- name: EVALPOD_K8S_RUN_AS_UID
  value: {{ .Values.evaluations.runAsUid | quote }}
- name: EVALPOD_K8S_RUN_AS_GID
  value: {{ .Values.evaluations.runAsGid | quote }}
{{- with .Values.evaluations.modelPvc }}
- name: EVALPOD_K8S_MODEL_PVC
  value: {{ . | quote }}
{{- end }}
- name: EVALPOD_K8S_MODEL_SUBPATHS
  value: {{ .Values.evaluations.modelSubpaths | toJson | quote }}
- name: EVALPOD_K8S_JOB_TTL_S
  value: {{ .Values.evaluations.jobTtlSeconds | quote }}
- name: EVALPOD_K8S_DEADLINE_MARGIN_S
  value: {{ .Values.evaluations.deadlineMarginSeconds | quote }}
{{- with .Values.evaluations.priorityClassName }}
- name: EVALPOD_K8S_PRIORITY_CLASS
  value: {{ . | quote }}
{{- end }}
{{- if .Values.evaluations.kueue.enabled }}
- name: EVALPOD_K8S_KUEUE_CLUSTER_QUEUE
  value: {{ .Values.evaluations.kueue.clusterQueue | quote }}
{{- end }}
{{- range $name, $value := .Values.config }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/*
One hardened component Deployment.
Args: dict "root" $ "component" NAME "values" .Values.NAME "args" LIST "api" BOOL
*/}}
{{- define "evalpod.deployment" -}}
{{- $root := .root -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "evalpod.fullname" $root }}-{{ .component }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "evalpod.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  replicas: {{ .values.replicas }}
  selector:
    matchLabels:
      {{- include "evalpod.selectorLabels" (dict "root" $root "component" .component) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "evalpod.selectorLabels" (dict "root" $root "component" .component) | nindent 8 }}
      {{- with .values.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      serviceAccountName: {{ include "evalpod.fullname" $root }}-{{ .component }}
      automountServiceAccountToken: true
      enableServiceLinks: false
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .component }}
          image: {{ include "evalpod.image" $root | quote }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args:
            {{- toYaml .args | nindent 12 }}
          env:
            {{- include "evalpod.env" $root | nindent 12 }}
          {{- if .api }}
          ports:
            - name: http
              containerPort: {{ $root.Values.api.port }}
              protocol: TCP
          livenessProbe:
            httpGet:
              path: /api/v1/health
              port: http
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          readinessProbe:
            httpGet:
              path: /api/v1/health
              port: http
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 2
          {{- end }}
          resources:
            {{- toYaml .values.resources | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.securityContext | nindent 12 }}
          volumeMounts:
            - name: home
              mountPath: /var/lib/evalpod
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: home
          emptyDir:
            sizeLimit: 1Gi
        - name: tmp
          emptyDir:
            sizeLimit: 512Mi
      {{- with .values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}
