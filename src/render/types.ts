// What render produces and what it needs to know about where the output goes. Render is pure:
// everything it may depend on (Kubernetes version, namespace, Argo CD app name) arrives here.

/** A Kubernetes object as plain JSON-able data; key order is the order it is serialized in. */
export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [k: string]: unknown };
  readonly [k: string]: unknown;
}

export interface KubeVersion {
  readonly major: number;
  readonly minor: number;
}

export interface RenderContext {
  /** The target cluster's version (Argo CD's KUBE_VERSION); decides native sidecar containers. */
  readonly kubeVersion: KubeVersion;
  /** Destination namespace; spec.metadata.namespace wins when set. Omitted objects get Argo CD's destination. */
  readonly namespace?: string;
  /** The Argo CD Application name (without the `<appns>_` prefix); becomes app.kubernetes.io/part-of. */
  readonly appName?: string;
  /** The cluster overlay that was applied (spec.clusters.<cluster>); recorded as a label on objects, never in the pod template. */
  readonly cluster?: string;
  /** The digest was resolved at render time (not committed to git); marks the workload. */
  readonly resolvedAtRender?: boolean;
  /**
   * APIs the target cluster serves, as Argo CD's KUBE_API_VERSIONS lists them ("apps/v1",
   * "apps/v1/Deployment", …); decides optional objects such as the PodMonitor. Absent: unknown.
   */
  readonly apiVersions?: readonly string[];
}

export interface RenderResult {
  readonly objects: readonly K8sObject[];
  readonly warnings: readonly import('../errors.js').Problem[];
}
