// The pod template: the modelpin sidecar (fetch → verify → load → serve) and, optionally, the
// user's app container beside it.
import { parseArtifactUri } from '../artifact-uri.js';
import type { Problem } from '../errors.js';
import type { EnvVar, ModelDeployment, ResourceRequirements } from '../spec/types.js';
import { cacheSizeLimit } from './cache-size.js';
import { supportsNativeSidecars } from './kube-version.js';
import { podLabels, sortKeys } from './labels.js';
import { CACHE_DIR, CREDENTIALS_DIR, SIGNING_DIR, TMP_DIR, serveArgs } from './serve-args.js';
import type { RenderContext } from './types.js';
import { WARMUP_DIR, warmupConfigMap } from './warmup.js';

/** The distroless "nonroot" uid/gid; the sidecar image runs as it and needs no other identity. */
export const SIDECAR_UID = 65532;
const TMP_SIZE_LIMIT = '256Mi';
/** The sidecar's container port: probes, the Service and the PodMonitor refer to it by this name. */
export const SIDECAR_PORT_NAME = 'http';
/** Startup probe period; failureThreshold is derived from spec.serving.startupTimeoutSeconds. */
const STARTUP_PERIOD_SECONDS = 5;

type Json = Record<string, unknown>;

export interface PodTemplate {
  readonly template: Json;
  readonly warnings: Problem[];
}

export function podTemplate(spec: ModelDeployment, digest: string, ctx: RenderContext): PodTemplate {
  const warnings: Problem[] = [];
  const s = spec.spec;
  const name = spec.metadata.name;
  const sidecar = sidecarContainer(spec, digest, warnings);
  const app = s.app ? appContainer(spec) : undefined;

  // From 1.29 the sidecar is a native sidecar: an init container that keeps running
  // (restartPolicy: Always). Its startupProbe gates the app container, so the app starts only once
  // the model is verified and loaded, and the sidecar outlives the app on shutdown.
  const native = app !== undefined && supportsNativeSidecars(ctx.kubeVersion);
  const initContainers = native ? [{ ...sidecar, restartPolicy: 'Always' }] : undefined;
  const containers = app === undefined ? [sidecar] : native ? [app] : [sidecar, app];

  const volumes: Json[] = [
    { name: 'model-cache', emptyDir: { sizeLimit: cacheSizeLimit(s.model) } },
    { name: 'tmp', emptyDir: { sizeLimit: TMP_SIZE_LIMIT } },
  ];
  if (s.model.credentials) {
    // 0440 + fsGroup: readable by the sidecar's group only.
    volumes.push({ name: 'model-credentials', secret: { secretName: s.model.credentials.secretName, defaultMode: 0o440 } });
  }
  if (s.model.signature) {
    volumes.push({ name: 'model-signing-key', secret: { secretName: s.model.signature.publicKey.secretName, defaultMode: 0o440 } });
  }
  const warmup = warmupConfigMap(spec);
  if (warmup) volumes.push({ name: 'warmup', configMap: { name: warmup.name, defaultMode: 0o444 } });

  const template = {
    metadata: {
      labels: podLabels(spec),
      annotations: sortKeys({
        'modelpin.dev/model-digest': digest,
        'modelpin.dev/model-uri': s.model.uri,
        'prometheus.io/path': '/metrics',
        'prometheus.io/port': String(s.serving.port),
        'prometheus.io/scrape': 'true',
      }),
    },
    spec: {
      serviceAccountName: name,
      // The sidecar talks to artifact stores, never to the Kubernetes API. Workload-identity
      // webhooks (IRSA, GKE/Azure workload identity) mount their own projected tokens regardless.
      automountServiceAccountToken: false,
      // Service links would inject <SERVICE>_PORT=tcp://... variables; a Service called "modelpin"
      // would then collide with the sidecar's MODELPIN_* configuration environment.
      enableServiceLinks: false,
      securityContext: {
        runAsNonRoot: true,
        fsGroup: SIDECAR_UID,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      ...(initContainers === undefined ? {} : { initContainers }),
      containers,
      volumes,
    },
  };
  return { template, warnings };
}

function sidecarContainer(spec: ModelDeployment, digest: string, warnings: Problem[]): Json {
  const s = spec.spec;
  const env = sidecarEnv(spec, warnings);
  const mounts: Json[] = [
    { name: 'model-cache', mountPath: CACHE_DIR },
    { name: 'tmp', mountPath: TMP_DIR },
  ];
  if (s.model.credentials) mounts.push({ name: 'model-credentials', mountPath: CREDENTIALS_DIR, readOnly: true });
  if (s.model.signature) mounts.push({ name: 'model-signing-key', mountPath: SIGNING_DIR, readOnly: true });
  if (s.serving.warmup?.samples !== undefined) mounts.push({ name: 'warmup', mountPath: WARMUP_DIR, readOnly: true });

  const probe = (path: string, periodSeconds: number, timeoutSeconds: number, failureThreshold: number): Json => ({
    httpGet: { path, port: SIDECAR_PORT_NAME },
    periodSeconds,
    timeoutSeconds,
    failureThreshold,
  });

  return {
    name: 'modelpin',
    image: s.serving.image,
    args: serveArgs(spec, digest),
    ports: [
      { name: SIDECAR_PORT_NAME, containerPort: s.serving.port, protocol: 'TCP' },
      ...(s.serving.grpcPort > 0 ? [{ name: 'grpc', containerPort: s.serving.grpcPort, protocol: 'TCP' }] : []),
    ],
    ...(env.length > 0 ? { env } : {}),
    ...resources(s.serving.resources),
    volumeMounts: mounts,
    // The download + verify + load budget: liveness and readiness only start once this passes.
    startupProbe: probe('/v2/health/ready', STARTUP_PERIOD_SECONDS, 2, Math.max(1, Math.ceil(s.serving.startupTimeoutSeconds / STARTUP_PERIOD_SECONDS))),
    readinessProbe: probe('/v2/health/ready', 5, 2, 3),
    livenessProbe: probe('/v2/health/live', 10, 5, 3),
    securityContext: {
      runAsNonRoot: true,
      runAsUser: SIDECAR_UID,
      runAsGroup: SIDECAR_UID,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
  };
}

function sidecarEnv(spec: ModelDeployment, warnings: Problem[]): EnvVar[] {
  const s = spec.spec;
  const env: EnvVar[] = (s.serving.env ?? []).map((e) => ({ name: e.name, value: e.value }));
  let isMlflow = false;
  try {
    isMlflow = parseArtifactUri(s.model.uri).scheme === 'models';
  } catch {
    // The parser already validated the URI; a hand-built spec with a bad URI is the sidecar's to refuse.
  }
  if (isMlflow && !env.some((e) => e.name === 'MLFLOW_TRACKING_URI')) {
    const tracking = s.gates?.mlflow?.trackingUri;
    if (tracking !== undefined) {
      env.push({ name: 'MLFLOW_TRACKING_URI', value: tracking });
    } else {
      warnings.push({
        code: 'MODELPIN_E_SPEC_INVALID',
        path: 'spec.serving.env',
        message: `model URI ${s.model.uri} is an MLflow registry URI but no tracking server is configured for the sidecar`,
        hint: 'set spec.gates.mlflow.trackingUri, or add MLFLOW_TRACKING_URI to spec.serving.env',
      });
    }
  }
  return env;
}

function appContainer(spec: ModelDeployment): Json {
  const s = spec.spec;
  const app = s.app!;
  const inferUrl = `http://127.0.0.1:${s.serving.port}/v2/models/${spec.metadata.name}/infer`;
  const env: EnvVar[] = [];
  if (!(app.env ?? []).some((e) => e.name === 'MODELPIN_INFER_URL')) env.push({ name: 'MODELPIN_INFER_URL', value: inferUrl });
  for (const e of app.env ?? []) env.push({ name: e.name, value: e.value });
  return {
    name: 'app',
    image: app.image,
    ...(app.command === undefined ? {} : { command: [...app.command] }),
    ...(app.args === undefined ? {} : { args: [...app.args] }),
    ...(app.port === undefined ? {} : { ports: [{ name: 'app', containerPort: app.port, protocol: 'TCP' }] }),
    env,
    ...resources(app.resources),
    // The app's user is its image's business (the pod still refuses root); the rest is hardened.
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    },
  };
}

function resources(r: ResourceRequirements | undefined): { resources?: Json } {
  if (!r) return {};
  const out: Json = {};
  if (r.requests && Object.keys(r.requests).length > 0) out.requests = sortKeys(r.requests);
  if (r.limits && Object.keys(r.limits).length > 0) out.limits = sortKeys(r.limits);
  return Object.keys(out).length > 0 ? { resources: out } : {};
}
