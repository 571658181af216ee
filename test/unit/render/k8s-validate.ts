// Schema validation of rendered objects with kubernetes-models: construct the model class for the
// object's kind and call validate(), which throws on any schema violation (unknown fields included,
// except in the PodMonitor: its CRD schema leaves objects open, so its tests compare it whole).
import { AnalysisTemplate, Rollout } from '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Service, ServiceAccount } from 'kubernetes-models/v1';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'v1/ServiceAccount': ServiceAccount,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'apps/v1/Deployment': Deployment,
  'argoproj.io/v1alpha1/Rollout': Rollout,
  'argoproj.io/v1alpha1/AnalysisTemplate': AnalysisTemplate,
  'monitoring.coreos.com/v1/PodMonitor': PodMonitor,
};

export function validateObject(obj: Record<string, unknown>): void {
  const key = `${String(obj.apiVersion)}/${String(obj.kind)}`;
  const Model = MODELS[key];
  if (!Model) throw new Error(`no schema model for ${key}`);
  new Model(obj).validate();
}
