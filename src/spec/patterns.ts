// Kubernetes and modelpin value grammars, shared by the JSON Schema (so editors flag them too) and
// by the parser's own checks (which give better messages than a bare regex mismatch).

/** RFC 1123 label: names Services and Deployments, so it must be one DNS label. */
export const DNS1123_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/** RFC 1123 subdomain: Secret names. */
export const DNS1123_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
/** A C identifier: what a container env var name must be to be usable from a shell. */
export const ENV_NAME = '^[A-Za-z_][A-Za-z0-9_]*$';
/**
 * Kubernetes resource quantity (apimachinery resource.Quantity), without a sign: negative
 * requests/limits are rejected by the API server anyway.
 *   <number><suffix>, suffix = Ki|Mi|Gi|Ti|Pi|Ei | m|k|M|G|T|P|E | e<int> | E<int> | ""
 */
export const QUANTITY = '^\\+?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([KMGTPE]i|[mkMGTPE]|[eE][+-]?[0-9]+)?$';
/** A resource name: cpu, memory, ephemeral-storage, nvidia.com/gpu, hugepages-2Mi. */
export const RESOURCE_NAME = '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$';
/** Go-style duration restricted to hours, minutes, seconds: 30s, 5m, 1h, 1h30m. */
export const DURATION = '^(?=[0-9])([0-9]+h)?([0-9]+m)?([0-9]+s)?$';
/** Cluster names as Argo CD and humans write them. */
export const CLUSTER_NAME = '^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$';
/**
 * An OCI image reference (distribution/reference grammar): [domain[:port]/]path[:tag][@sha256:hex].
 * Path components are lowercase; the domain may not be.
 */
const DOMAIN_COMPONENT = '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?';
const PATH_COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
export const IMAGE_REF =
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*` +
  '(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$';
export const IMAGE_PINNED = '@sha256:[0-9a-f]{64}$';

// Label keys: [prefix/]name, prefix a DNS subdomain ≤ 253, name ≤ 63 of [A-Za-z0-9-_.] with
// alphanumeric ends. Label values: ≤ 63, same alphabet, may be empty.
const QUALIFIED_NAME_RE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const SUBDOMAIN_RE = new RegExp(DNS1123_SUBDOMAIN);
const LABEL_VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Why `key` is not a valid label/annotation key, or undefined when it is. */
export function qualifiedNameProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined) {
    if (prefix.length === 0 || prefix.length > 253 || !SUBDOMAIN_RE.test(prefix)) {
      return 'its prefix (before "/") must be a lowercase DNS subdomain of at most 253 characters, e.g. example.com';
    }
  }
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME_RE.test(name)) {
    return 'its name (after any "prefix/") must be 1-63 characters of letters, digits, "-", "_" or ".", starting and ending with a letter or digit';
  }
  return undefined;
}

export function labelValueProblem(value: string): string | undefined {
  if (value.length > 63 || !LABEL_VALUE_RE.test(value)) {
    return 'a label value must be at most 63 characters of letters, digits, "-", "_" or ".", starting and ending with a letter or digit (or be empty)';
  }
  return undefined;
}

/** Seconds in a DURATION string (already matched). */
export function durationSeconds(d: string): number {
  const m = /^(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?$/.exec(d);
  if (!m) return NaN;
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}
