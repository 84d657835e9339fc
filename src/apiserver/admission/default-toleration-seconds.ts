// DefaultTolerationSeconds admission: a pod that does not tolerate the
// not-ready and unreachable NoExecute taints gets tolerations for them
// with tolerationSeconds 300, so when its node fails it is evicted after five
// minutes instead of at once (and workloads ride out short node blips).
// A toleration counts when its key is that taint's (or empty: every key) and
// its effect is NoExecute (or empty: every effect), as upstream checks.
import type { KubeObject } from '../registry/resource-store.ts';
import { isCoreKind, type AdmissionPlugin } from './chain.ts';

export const DEFAULT_TOLERATION_SECONDS = 300;
const NOT_READY = 'node.kubernetes.io/not-ready';
const UNREACHABLE = 'node.kubernetes.io/unreachable';

interface Toleration {
  key?: string;
  operator?: string;
  effect?: string;
  tolerationSeconds?: number;
}

const coversNoExecute = (toleration: Toleration, key: string) =>
  (!toleration.key || toleration.key === key) && (!toleration.effect || toleration.effect === 'NoExecute');

export function addDefaultTolerations(pod: KubeObject): void {
  const spec = (pod.spec ??= {}) as { tolerations?: Toleration[] | null };
  const tolerations = spec.tolerations ?? [];
  const missing = [NOT_READY, UNREACHABLE].filter((key) => !tolerations.some((t) => coversNoExecute(t, key)));
  if (missing.length === 0) return;
  spec.tolerations = [
    ...tolerations,
    ...missing.map((key) => ({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: DEFAULT_TOLERATION_SECONDS })),
  ];
}

export const defaultTolerationSeconds: AdmissionPlugin = {
  name: 'DefaultTolerationSeconds',
  admit(attributes) {
    if (attributes.operation !== 'CREATE' && attributes.operation !== 'UPDATE') return;
    if (!isCoreKind(attributes, 'Pod') || !attributes.object) return;
    addDefaultTolerations(attributes.object);
  },
};
