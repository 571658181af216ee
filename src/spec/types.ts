// The ModelDeployment spec as the rest of modelpin sees it: validated, defaults applied, frozen.
// The JSON Schema (src/spec/schema.ts) is the source of truth for what users may write; these
// types describe the value after parsing + defaulting, so optional-with-default fields are required here.

export const API_VERSION = 'modelpin.dev/v1alpha1';
export const KIND = 'ModelDeployment';

export type ModelFormat = 'onnx' | 'tar';

export interface SecretRef {
  /** Name of a Kubernetes Secret in the app's namespace. Never a value. */
  readonly secretName: string;
}

export interface SignatureSpec {
  /** Where the detached signature (cosign sign-blob base64 output) lives; default `<model.uri>.sig`. */
  readonly uri?: string;
  /** Secret holding the PEM public key (ECDSA P-256 or Ed25519). */
  readonly publicKey: { readonly secretName: string; readonly key: string /* default "cosign.pub" */ };
}

export interface Provenance {
  readonly repo?: string;
  readonly commit?: string;
  readonly script?: string;
  readonly mlflowRunId?: string;
}

export interface ModelSection {
  readonly uri: string;
  /** `sha256:<64 hex>`; absent only when the caller allowed unpinned specs (lock / resolve). */
  readonly digest?: string;
  readonly format: ModelFormat;
  /** For format tar: path of the .onnx file inside the archive. Default "model.onnx". */
  readonly entry?: string;
  /** Expected size in bytes; a larger download is refused. */
  readonly size?: number;
  readonly credentials?: SecretRef;
  readonly signature?: SignatureSpec;
  readonly provenance?: Provenance;
}

export interface EnvVar {
  readonly name: string;
  readonly value: string;
}

export interface ResourceRequirements {
  readonly requests?: Readonly<Record<string, string>>;
  readonly limits?: Readonly<Record<string, string>>;
}

export interface ServingSection {
  readonly image: string;
  readonly port: number; // default 8080
  /** gRPC port; 0 = no gRPC server. Default 8081. */
  readonly grpcPort: number;
  readonly batching?: { readonly maxBatchSize: number; readonly maxDelayMs: number; readonly force?: boolean };
  readonly workers?: number;
  readonly onnxruntime?: {
    readonly graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
    readonly executionMode?: 'sequential' | 'parallel';
    readonly memoryArena?: boolean;
    readonly memoryPattern?: boolean;
    readonly optimizedModelCache?: boolean;
  };
  readonly warmup?: {
    /** V2 request bodies, kept as written (rendered into a ConfigMap). */
    readonly samples?: readonly unknown[];
    readonly uri?: string;
    readonly digest?: string;
    readonly auto?: boolean;
  };
  readonly threads?: { readonly intraOp?: number; readonly interOp?: number };
  readonly resources?: ResourceRequirements;
  /** Plain (non-secret) environment for the sidecar, e.g. AWS_REGION, AWS_ENDPOINT_URL_S3. */
  readonly env?: readonly EnvVar[];
  /** Upper bound for fetch + verify + load before the pod is restarted. Default 600. */
  readonly startupTimeoutSeconds: number;
}

export interface AppSection {
  readonly image: string;
  readonly port?: number;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly env?: readonly EnvVar[];
  readonly resources?: ResourceRequirements;
}

export interface CanaryStep {
  readonly weight: number;
  /** A duration like 30s, 5m, 1h; absent = pause until promoted by hand. */
  readonly pause?: string;
}

export interface PrometheusSettings {
  readonly address: string;
  /**
   * Render a PodMonitor (Prometheus Operator) for the serving pods. Absent: render one exactly when
   * the cluster serves monitoring.coreos.com/v1 PodMonitor (Argo CD's KUBE_API_VERSIONS).
   */
  readonly podMonitor?: boolean;
  /** Extra labels on the PodMonitor, e.g. {release: kube-prometheus-stack} for the Prometheus CR's podMonitorSelector. */
  readonly podMonitorLabels?: Readonly<Record<string, string>>;
  /** How often Prometheus scrapes the sidecar; sets the PodMonitor interval, the rate window and the initial delay. Default 30s. */
  readonly scrapeInterval: string;
}

export interface CanaryAnalysis {
  readonly prometheus: PrometheusSettings;
  readonly maxErrorRate: number;
  readonly maxP99LatencyMs: number;
  /** Below this many canary requests in the rate window, error rate and p99 are inconclusive. Default 0. */
  readonly minRequests: number;
  readonly interval?: string; // default 1m
  readonly failureLimit?: number; // default 1
}

export interface RolloutSection {
  readonly canary: { readonly steps: readonly CanaryStep[]; readonly analysis?: CanaryAnalysis };
}

export interface MetricThreshold {
  readonly min?: number;
  readonly max?: number;
}

export interface GatesSection {
  readonly mlflow?: { readonly trackingUri: string; readonly metrics: Readonly<Record<string, MetricThreshold>> };
}

export interface DeploymentSpec {
  readonly model: ModelSection;
  readonly serving: ServingSection;
  readonly app?: AppSection;
  readonly replicas: number; // default 1
  readonly rollout?: RolloutSection;
  readonly gates?: GatesSection;
}

export interface ModelDeployment {
  readonly apiVersion: typeof API_VERSION;
  readonly kind: typeof KIND;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  /** Already merged with spec.clusters[<cluster>] when a cluster was chosen; `clusters` is not kept. */
  readonly spec: DeploymentSpec;
}
