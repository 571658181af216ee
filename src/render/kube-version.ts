// Kubernetes versions as Argo CD reports them (KUBE_VERSION, e.g. "1.30.11", no "v") or as a user
// types them (--kube-version 1.29, v1.30.2). Distribution suffixes (-eks-..., -gke.N, +k3s1) and
// EKS's "30+" minor are accepted because those clusters report them verbatim.
import { ModelpinError } from '../errors.js';
import type { KubeVersion } from './types.js';

/**
 * Without KUBE_VERSION or --kube-version, render assumes 1.29: the oldest minor still in
 * upstream-or-vendor support at the time of writing and the first with native sidecar containers
 * (beta, on by default). `modelpin render --kube-version 1.28` renders the older form.
 */
export const DEFAULT_KUBE_VERSION: KubeVersion = Object.freeze({ major: 1, minor: 29 });

const VERSION_RE = /^v?(\d{1,3})\.(\d{1,3})\+?(?:\.(\d{1,4}))?(?:[-+][0-9A-Za-z.+-]*)?$/;

export function parseKubeVersion(text: string, source = '--kube-version'): KubeVersion {
  const m = VERSION_RE.exec(text.trim());
  if (!m) {
    throw new ModelpinError('MODELPIN_E_KUBE_VERSION', `${source} "${text}" is not a Kubernetes version`, {
      hint: 'give major.minor[.patch], e.g. 1.30 or 1.30.11',
    });
  }
  const major = Number(m[1]);
  const minor = Number(m[2]);
  if (major !== 1) {
    throw new ModelpinError('MODELPIN_E_KUBE_VERSION', `${source} "${text}": only Kubernetes 1.x is known`, {
      hint: 'give major.minor[.patch], e.g. 1.30 or 1.30.11',
    });
  }
  return Object.freeze({ major, minor });
}

/** Native sidecars (initContainers with restartPolicy: Always) are on by default from 1.29. */
export function supportsNativeSidecars(v: KubeVersion): boolean {
  return v.major > 1 || (v.major === 1 && v.minor >= 29);
}
