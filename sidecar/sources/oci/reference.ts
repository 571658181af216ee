// From a parsed oci:// reference to the registry's HTTP API (distribution spec v2): which origin,
// plain HTTP or TLS, and the URLs of manifests, blobs and uploads.
// Plain HTTP follows what Docker and containerd do: a registry on localhost or the loopback range
// speaks HTTP; any other must be named in MODELPIN_OCI_INSECURE_REGISTRIES (comma-separated
// host[:port]); everything else is TLS, verified.
import type { OciRef } from '../../../src/artifact-uri.js';

export const INSECURE_ENV = 'MODELPIN_OCI_INSECURE_REGISTRIES';

export interface RegistryEndpoint {
  /** host[:port] as written in the URI (what credentials are keyed by). */
  readonly registry: string;
  /** http(s)://host[:port] of the API. */
  readonly origin: string;
  readonly plainHttp: boolean;
}

/** localhost, 127.0.0.0/8 and [::1]: the machine itself. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h === '[::1]' || h === '::1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Host part of host[:port] (brackets kept for IPv6). */
export function hostOf(registry: string): string {
  if (registry.startsWith('[')) return registry.slice(0, registry.indexOf(']') + 1);
  const colon = registry.lastIndexOf(':');
  return colon >= 0 ? registry.slice(0, colon) : registry;
}

export function insecureRegistries(env: NodeJS.ProcessEnv): Set<string> {
  return new Set(
    (env[INSECURE_ENV] ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase().replace(/^https?:\/\//, '').replace(/\/+$/, ''))
      .filter((s) => s !== ''),
  );
}

/** May this host[:port] be spoken to over plain HTTP? Loopback, or listed in MODELPIN_OCI_INSECURE_REGISTRIES. */
export function allowsPlainHttp(hostPort: string, env: NodeJS.ProcessEnv): boolean {
  const hp = hostPort.toLowerCase();
  if (isLoopbackHost(hostOf(hp))) return true;
  const listed = insecureRegistries(env);
  return listed.has(hp) || listed.has(hostOf(hp));
}

// Docker Hub's names: docker.io is what people write, the API lives elsewhere.
const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

export function registryEndpoint(registry: string, env: NodeJS.ProcessEnv): RegistryEndpoint {
  const apiHost = DOCKER_HUB.has(registry) ? 'registry-1.docker.io' : registry;
  const plainHttp = allowsPlainHttp(registry, env);
  return Object.freeze({ registry, origin: `${plainHttp ? 'http' : 'https'}://${apiHost}`, plainHttp });
}

/** Docker Hub's official images live under library/. */
export function apiRepository(ref: Pick<OciRef, 'registry' | 'repository'>): string {
  return DOCKER_HUB.has(ref.registry) && !ref.repository.includes('/') ? `library/${ref.repository}` : ref.repository;
}

export function manifestUrl(ep: RegistryEndpoint, repository: string, reference: string): URL {
  return new URL(`${ep.origin}/v2/${repository}/manifests/${reference}`);
}

export function blobUrl(ep: RegistryEndpoint, repository: string, digest: string): URL {
  return new URL(`${ep.origin}/v2/${repository}/blobs/${digest}`);
}

export function uploadsUrl(ep: RegistryEndpoint, repository: string): URL {
  return new URL(`${ep.origin}/v2/${repository}/blobs/uploads/`);
}
