// The JSON Schema of modelpin.yaml: the source of truth for what users may write. The parser
// validates structure with it (ajv), `modelpin schema` prints it, and editors load the committed
// copy (plugin/schema/modelpin.schema.json) for completion and hover help. Rules a schema states
// badly (URIs, digests, label keys, ordering, cross-field constraints) live in checks.ts.
// Built from plain objects in a fixed order so the printed schema is byte-stable.
import { DIGEST_PATTERN } from '../digest.js';
import { API_VERSION, KIND } from './types.js';
import {
  CLUSTER_NAME,
  DNS1123_LABEL,
  DNS1123_SUBDOMAIN,
  DURATION,
  ENV_NAME,
  IMAGE_REF,
  QUANTITY,
  RESOURCE_NAME,
} from './patterns.js';

export type JsonSchema = { [key: string]: unknown };

/** Size limit of a spec file (and of the text handed to parseSpec). */
export const MAX_SPEC_BYTES = 1024 * 1024;

function obj(title: string, description: string, properties: Record<string, JsonSchema>, required: string[] = [], extra: JsonSchema = {}): JsonSchema {
  return {
    title,
    description,
    type: 'object',
    properties,
    ...(required.length > 0 ? { required } : {}),
    additionalProperties: false,
    ...extra,
  };
}

function str(title: string, description: string, extra: JsonSchema = {}): JsonSchema {
  return { title, description, type: 'string', ...extra };
}

function int(title: string, description: string, extra: JsonSchema = {}): JsonSchema {
  return { title, description, type: 'integer', ...extra };
}

function num(title: string, description: string, extra: JsonSchema = {}): JsonSchema {
  return { title, description, type: 'number', ...extra };
}

export function partialOf(s: JsonSchema): JsonSchema {
  const out: JsonSchema = { ...s };
  delete out.required;
  delete out.default;
  if (out.properties && typeof out.properties === 'object') {
    const props: Record<string, JsonSchema> = {};
    for (const [k, v] of Object.entries(out.properties as Record<string, JsonSchema>)) props[k] = nullable(partialOf(v));
    out.properties = props;
  }
  if (out.additionalProperties && typeof out.additionalProperties === 'object') {
    out.additionalProperties = nullable(partialOf(out.additionalProperties as JsonSchema));
  }
  return out;
}

function nullable(s: JsonSchema): JsonSchema {
  const out: JsonSchema = { ...s };
  if (typeof out.type === 'string') out.type = [out.type, 'null'];
  else if (Array.isArray(out.type)) out.type = [...(out.type as string[]), 'null'];
  if (Array.isArray(out.enum)) out.enum = [...(out.enum as unknown[]), null];
  return out;
}

// Built on first use, not at load: `modelpin render` validates with code generated from these
// schemas at build time and needs the objects themselves only to explain an error.
let built: { spec: JsonSchema; overlay: JsonSchema } | undefined;

/** The whole document's schema (what `modelpin schema` prints). */
export function specSchema(): JsonSchema {
  return (built ??= buildSchemas()).spec;
}

/** Schema of one cluster overlay (spec.clusters.<name>). */
export function overlaySchema(): JsonSchema {
  return (built ??= buildSchemas()).overlay;
}

function buildSchemas(): { spec: JsonSchema; overlay: JsonSchema } {
  const port = (title: string, description: string, extra: JsonSchema = {}): JsonSchema =>
    int(title, description, { minimum: 1, maximum: 65535, ...extra });

  const secretName = (description: string): JsonSchema =>
    str('Secret name', description, {
      minLength: 1,
      maxLength: 253,
      pattern: DNS1123_SUBDOMAIN,
      patternErrorMessage: 'must be a Kubernetes Secret name: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit',
    });

  const duration = (title: string, description: string, extra: JsonSchema = {}): JsonSchema =>
    str(title, description, {
      pattern: DURATION,
      patternErrorMessage: 'must be a duration of hours, minutes and seconds such as 30s, 5m, 1h or 1h30m',
      ...extra,
    });

  const image = (title: string, description: string): JsonSchema =>
    str(title, description, {
      minLength: 1,
      pattern: IMAGE_REF,
      patternErrorMessage: 'must be an image reference such as ghcr.io/org/image:1.2.3@sha256:<64 hex> (lowercase repository path, optional tag, optional digest)',
    });

  const quantity: JsonSchema = {
    title: 'Quantity',
    description: 'A Kubernetes quantity such as 500m, 2, 1.5, 512Mi or 4Gi.',
    type: ['string', 'number'],
    minimum: 0,
    pattern: QUANTITY,
    patternErrorMessage: 'must be a Kubernetes quantity such as 500m, 2, 1.5, 512Mi or 4Gi',
  };

  const resourceList = (title: string, description: string): JsonSchema => ({
    title,
    description,
    type: 'object',
    propertyNames: {
      pattern: RESOURCE_NAME,
      patternErrorMessage: 'must be a resource name such as cpu, memory, ephemeral-storage or nvidia.com/gpu',
    },
    additionalProperties: quantity,
  });

  const resources = (who: string): JsonSchema =>
    obj('Resources', `CPU/memory requests and limits of the ${who} container (Kubernetes ResourceRequirements).`, {
      requests: resourceList('Requests', 'Resources the scheduler reserves, e.g. {cpu: 500m, memory: 512Mi}.'),
      limits: resourceList('Limits', 'Upper bounds enforced at run time, e.g. {memory: 1Gi}.'),
    });

  const env = (who: string): JsonSchema => ({
    title: 'Environment',
    description: `Plain (non-secret) environment variables for the ${who} container. Secret values are refused: reference a Secret instead.`,
    type: 'array',
    items: obj(
      'Environment variable',
      'One environment variable.',
      {
        name: str('Name', 'Variable name, a C identifier such as AWS_REGION.', {
          pattern: ENV_NAME,
          patternErrorMessage: 'must be a C identifier: letters, digits and "_", not starting with a digit',
        }),
        value: str('Value', 'Literal value. Never a secret.'),
      },
      ['name', 'value'],
    ),
  });

  const stringMap = (title: string, description: string): JsonSchema => ({
    title,
    description,
    type: 'object',
    additionalProperties: { type: 'string' },
  });

  const modelSection = obj(
    'Model',
    'The model artifact, pinned by digest.',
    {
      uri: str(
        'Artifact URI',
        'Where the bytes live: s3://bucket/key[?versionId=...], https://host/path, file:///abs/path, models:/name/<version>, models:/name@alias or models:/name/latest (MLflow registry).',
        { minLength: 1 },
      ),
      digest: str('Digest', 'The pin: sha256:<64 lowercase hex> of the artifact bytes. `modelpin lock` writes it.', {
        pattern: DIGEST_PATTERN,
        patternErrorMessage: 'must be sha256:<64 lowercase hex>',
      }),
      format: str('Format', 'onnx: the artifact is one .onnx file. tar: a .tar or .tar.gz holding model files; `entry` names the .onnx inside.', {
        enum: ['onnx', 'tar'],
        default: 'onnx',
      }),
      entry: str('Entry', 'For format tar: relative path of the .onnx file inside the archive. Default model.onnx.', { minLength: 1 }),
      size: int('Size', 'Expected size in bytes; a larger download is refused.', { minimum: 1 }),
      credentials: obj('Credentials', 'Secret whose keys the sidecar reads as credentials (e.g. AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, token, MLFLOW_TRACKING_TOKEN).', {
        secretName: secretName('Name of a Secret in the application namespace.'),
      }, ['secretName']),
      signature: obj('Signature', 'Optional detached signature (cosign sign-blob) verified before the model is loaded.', {
        uri: str('Signature URI', 'Where the base64 signature lives; default <model.uri>.sig.', { minLength: 1 }),
        publicKey: obj('Public key', 'Secret holding the PEM public key (ECDSA P-256 or Ed25519).', {
          secretName: secretName('Name of the Secret holding the public key.'),
          key: str('Key', 'Key of the PEM file inside the Secret.', {
            minLength: 1,
            maxLength: 253,
            pattern: '^[-._a-zA-Z0-9]+$',
            patternErrorMessage: 'must be a Secret key: letters, digits, "-", "_" and "."',
            default: 'cosign.pub',
          }),
        }, ['secretName']),
      }, ['publicKey']),
      provenance: obj('Provenance', 'Where the model came from; recorded as annotations, never interpreted.', {
        repo: str('Repository', 'Source repository of the training code.'),
        commit: str('Commit', 'Commit of the training code.'),
        script: str('Script', 'Training script, e.g. train.py.'),
        mlflowRunId: str('MLflow run id', 'MLflow run that produced the model.'),
      }),
    },
    ['uri'],
  );

  const servingSection = obj(
    'Serving',
    'The modelpin sidecar that fetches, verifies and serves the model (Open Inference Protocol over HTTP).',
    {
      image: image('Serving image', 'The modelpin sidecar image; pin it by digest (<ref>@sha256:<hex>).'),
      port: port('Port', 'HTTP port of the inference server.', { default: 8080 }),
      grpcPort: int('gRPC port', 'gRPC port of the inference server (the Open Inference Protocol\'s inference.GRPCInferenceService, grpc.health.v1.Health, reflection); 0 turns gRPC off.', {
        minimum: 0,
        maximum: 65535,
        default: 8081,
      }),
      batching: obj('Batching', 'Dynamic batching: concurrent requests are stacked along dimension 0, up to maxBatchSize rows or maxDelayMs. On only if the start-up check finds the model\'s rows independent (or force is true).', {
        maxBatchSize: int('Max batch size', 'Largest batch handed to ONNX Runtime; also the most rows one request may carry.', { minimum: 1, maximum: 1024 }),
        maxDelayMs: int('Max delay (ms)', 'Longest a request waits for a batch to fill (only under load; an idle server never waits).', { minimum: 0, maximum: 1000 }),
        force: { title: 'Force', description: 'Batch even if the start-up check finds rows that interact, or cannot run: your assertion that rows never interact (logged as forced).', type: 'boolean' },
      }, ['maxBatchSize', 'maxDelayMs']),
      workers: int('Workers', 'Inference worker threads, each with its own ONNX Runtime session (like Triton\'s instance count). Memory grows with each.', { minimum: 1, maximum: 64 }),
      onnxruntime: obj('ONNX Runtime', 'ONNX Runtime session options.', {
        graphOptimizationLevel: str('Graph optimization level', 'Graph optimizations at load.', { enum: ['disabled', 'basic', 'extended', 'all'] }),
        executionMode: str('Execution mode', 'Run operators sequentially or in parallel (inter-op threads).', { enum: ['sequential', 'parallel'] }),
        memoryArena: { title: 'Memory arena', description: 'ONNX Runtime\'s CPU memory arena (default true).', type: 'boolean' },
        memoryPattern: { title: 'Memory pattern', description: 'ONNX Runtime\'s memory pattern optimization (default true).', type: 'boolean' },
        optimizedModelCache: {
          title: 'Optimized-model cache',
          description: 'Keep ONNX Runtime\'s optimized graph in the model cache, so restarts skip graph optimization. It trusts the cache volume (default false).',
          type: 'boolean',
        },
      }),
      warmup: obj(
        'Warm-up',
        'Real samples to run before the model turns ready (like Triton\'s model_warmup). A failing sample keeps the model from ready. Without samples a generated input is tried, best effort.',
        {
          samples: {
            title: 'Samples',
            description: 'V2 inference request bodies ({"inputs": [...]}), inline. Rendered into a ConfigMap.',
            type: 'array',
            minItems: 1,
            maxItems: 16,
            items: obj('Sample', 'One V2 inference request body.', {
              inputs: {
                title: 'Inputs',
                description: 'The tensors: name, datatype, shape and data, as a client sends them.',
                type: 'array',
                minItems: 1,
                items: obj('Tensor', 'One input tensor.', {
                  name: str('Name', 'Input name.', { minLength: 1 }),
                  datatype: str('Datatype', 'V2 datatype.', { enum: ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'] }),
                  shape: { title: 'Shape', description: 'Dimensions.', type: 'array', items: { type: 'integer', minimum: 0 } },
                  data: { title: 'Data', description: 'Row-major values, flat or nested.' },
                }, ['name', 'datatype', 'shape', 'data']),
              },
            }, ['inputs']),
          },
          uri: str('URI', 'A JSON file of samples (one body or an array), fetched and verified like the model: s3://, https://, file:///, models:/.'),
          digest: str('Digest', 'The pin of the samples file: sha256:<64 lowercase hex>.', {
            pattern: DIGEST_PATTERN,
            patternErrorMessage: 'must be sha256: followed by 64 lowercase hex digits',
          }),
          auto: { title: 'Automatic warm-up', description: 'Without samples, warm up with a generated input (best effort: a failure only warns). Default true.', type: 'boolean' },
        },
      ),
      threads: obj('Threads', 'ONNX Runtime thread pools.', {
        intraOp: int('Intra-op threads', 'Threads used inside one operator.', { minimum: 1 }),
        interOp: int('Inter-op threads', 'Threads used across operators.', { minimum: 1 }),
      }),
      resources: resources('serving'),
      env: env('serving'),
      startupTimeoutSeconds: int('Startup timeout (s)', 'Upper bound for fetch + verify + load before the pod is restarted.', { minimum: 1, default: 600 }),
    },
    ['image'],
  );

  const appSection = obj(
    'App',
    'Optional application container running beside the sidecar (it calls the model on localhost).',
    {
      image: image('App image', 'The application image; pin it by digest (<ref>@sha256:<hex>).'),
      port: port('Port', 'Port the application listens on; must differ from serving.port.'),
      command: { title: 'Command', description: 'Overrides the image entrypoint.', type: 'array', items: { type: 'string' } },
      args: { title: 'Args', description: 'Arguments to the entrypoint.', type: 'array', items: { type: 'string' } },
      env: env('app'),
      resources: resources('app'),
    },
    ['image'],
  );

  const rolloutSection = obj(
    'Rollout',
    'Argo Rollouts canary with automatic abort. Without it a plain Deployment is rendered.',
    {
      canary: obj('Canary', 'Canary steps and the analysis that aborts a bad model.', {
        steps: {
          title: 'Steps',
          description: 'Traffic weights in strictly increasing order, each optionally followed by a pause.',
          type: 'array',
          minItems: 1,
          items: obj('Step', 'Shift `weight` percent of traffic to the canary, then pause.', {
            weight: int('Weight', 'Percent of traffic (1-100) sent to the new model.', { minimum: 1, maximum: 100 }),
            pause: duration('Pause', 'How long to wait before the next step (30s, 5m, 1h30m). Absent: wait until promoted by hand.'),
          }, ['weight']),
        },
        analysis: obj('Analysis', 'Prometheus analysis run during the canary; failing it aborts the rollout. A canary Prometheus does not see fails it too.', {
          prometheus: obj('Prometheus', 'The Prometheus server that scrapes the sidecar metrics, and how it finds the sidecars.', {
            address: str('Address', 'http(s) URL of the Prometheus server, e.g. http://prometheus-operated.monitoring:9090.', { minLength: 1 }),
            podMonitor: {
              title: 'PodMonitor',
              description: 'Render a PodMonitor (Prometheus Operator) that scrapes the sidecars with the pod-template-hash label the analysis selects on. Absent: rendered when the cluster has the PodMonitor API (Argo CD\'s KUBE_API_VERSIONS, or --api-versions).',
              type: 'boolean',
            },
            podMonitorLabels: stringMap('PodMonitor labels', 'Labels added to the PodMonitor so that your Prometheus picks it up, e.g. {release: kube-prometheus-stack} (the Prometheus resource\'s podMonitorSelector).'),
            scrapeInterval: duration('Scrape interval', 'How often Prometheus scrapes the sidecars: the PodMonitor\'s interval; the rate window is 4 and the analysis\' initial delay 3 scrape intervals. With annotation-based scraping, set it to your scrape job\'s interval.', { default: '30s' }),
          }, ['address']),
          maxErrorRate: num('Max error rate', 'Largest tolerated fraction (0-1) of failed inference requests.', { minimum: 0, maximum: 1 }),
          maxP99LatencyMs: num('Max p99 latency (ms)', 'Largest tolerated 99th-percentile request latency.', { exclusiveMinimum: 0 }),
          minRequests: int('Min requests', 'Fewest canary requests in the rate window that error rate and p99 are judged on; with fewer, the measurement is inconclusive (the rollout pauses for a human) instead of passing. 0: no traffic passes once the canary is proven scraped.', { minimum: 0, default: 0 }),
          interval: duration('Interval', 'How often the analysis queries Prometheus.', { default: '1m' }),
          failureLimit: int('Failure limit', 'Failed measurements tolerated before the rollout aborts.', { minimum: 0, default: 1 }),
        }, ['prometheus', 'maxErrorRate', 'maxP99LatencyMs']),
      }, ['steps']),
    },
    ['canary'],
  );

  const gatesSection = obj(
    'Gates',
    'Promotion gates checked by `modelpin lock`/`publish`: a model that fails them is never pinned.',
    {
      mlflow: obj('MLflow gate', 'Metrics of the MLflow run that produced the model version.', {
        trackingUri: str('Tracking URI', 'http(s) URL of the MLflow tracking server.', { minLength: 1 }),
        metrics: {
          title: 'Metrics',
          description: 'Metric name → bounds; the run must have each metric within [min, max].',
          type: 'object',
          minProperties: 1,
          additionalProperties: obj('Bounds', 'At least one of min and max.', {
            min: num('Min', 'Smallest acceptable value (inclusive).'),
            max: num('Max', 'Largest acceptable value (inclusive).'),
          }, [], { minProperties: 1 }),
        },
      }, ['trackingUri', 'metrics']),
    },
  );

  /** spec.* without `clusters`: what a cluster overlay is a partial of. */
  const deploymentSpecProperties: Record<string, JsonSchema> = {
    model: modelSection,
    serving: servingSection,
    app: appSection,
    replicas: int('Replicas', 'Number of serving pods.', { minimum: 0, default: 1 }),
    rollout: rolloutSection,
    gates: gatesSection,
  };

  /**
   * A partial of `s` for a cluster overlay: nothing is required, defaults are dropped (an overlay
   * must not reset a base value to its default), and any object member may be null (= delete that
   * key). Arrays replace wholesale, so array items stay complete.
   */
  const deploymentSpecSchema = obj('Spec', 'What to deploy and how.', deploymentSpecProperties, ['model', 'serving']);

  /** Schema of one cluster overlay (spec.clusters.<name>). */
    const overlay: JsonSchema = {
    ...partialOf(deploymentSpecSchema),
    title: 'Cluster overlay',
    description: 'Per-cluster override of spec, deep-merged over it: objects merge, arrays and scalars replace, null deletes a key. Empty = no overrides.',
    // `staging:` with nothing under it is a cluster that uses the base as is.
    type: ['object', 'null'],
  };

  const document: JsonSchema = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://modelpin.dev/schema/v1alpha1/modelpin.schema.json',
    title: 'modelpin ModelDeployment',
    description: 'A model deployment for the modelpin Argo CD plugin (modelpin.yaml).',
    type: 'object',
    properties: {
      apiVersion: { title: 'API version', description: 'Always modelpin.dev/v1alpha1.', type: 'string', const: API_VERSION },
      kind: { title: 'Kind', description: 'Always ModelDeployment.', type: 'string', const: KIND },
      metadata: obj('Metadata', 'Name and labels of the deployment.', {
        name: str('Name', 'Names the Deployment/Rollout and Service: a DNS-1123 label of at most 63 characters.', {
          minLength: 1,
          maxLength: 63,
          pattern: DNS1123_LABEL,
          patternErrorMessage: 'must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit',
        }),
        namespace: str('Namespace', 'Namespace of the rendered objects; default: the Argo CD application namespace.', {
          minLength: 1,
          maxLength: 63,
          pattern: DNS1123_LABEL,
          patternErrorMessage: 'must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit',
        }),
        labels: stringMap('Labels', 'Labels added to every rendered object.'),
        annotations: stringMap('Annotations', 'Annotations added to every rendered object.'),
      }, ['name']),
      spec: {
        ...deploymentSpecSchema,
        properties: {
          ...deploymentSpecProperties,
          clusters: {
            title: 'Clusters',
            description: 'Per-cluster overrides, chosen by the plugin parameter `cluster` (or --cluster).',
            type: 'object',
            propertyNames: {
              pattern: CLUSTER_NAME,
              patternErrorMessage: 'must be letters, digits, "-", "_" or ".", starting and ending with a letter or digit',
            },
            additionalProperties: overlay,
          },
        },
      },
    },
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    additionalProperties: false,
  };
  return { spec: document, overlay };
}

export type Which = 'full' | 'overlay';

/**
 * What the validators check: the document schema minus spec.clusters (overlays are merged, or
 * checked with the overlay schema, before validation), or one overlay. Built anew on each call.
 */
export function validationSchema(which: Which): JsonSchema {
  if (which === 'overlay') return overlaySchema();
  const full = specSchema();
  const spec = (full.properties as Record<string, JsonSchema>).spec!;
  const props = { ...(spec.properties as Record<string, JsonSchema>) };
  delete props.clusters;
  const out: JsonSchema = { ...full, properties: { ...(full.properties as object), spec: { ...spec, properties: props } } };
  delete out.$id; // not the published schema; don't claim its id
  return out;
}

/** The schema as `modelpin schema` prints it and the committed file holds it. */
export function schemaJson(): string {
  return JSON.stringify(specSchema(), null, 2) + '\n';
}
