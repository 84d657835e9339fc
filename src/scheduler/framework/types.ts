// The parts of core/v1 Pod and Node that the scheduler reads. Objects arrive
// from the API as plain JSON, so these are loose structural types: every
// field is optional and plugins must tolerate absent values exactly as
// upstream tolerates nil pointers and empty slices.
import type { KubeObject } from '../../client/interface.ts';

export type ResourceList = Record<string, string | number>;

export interface ContainerPort {
  containerPort?: number;
  hostPort?: number;
  hostIP?: string;
  protocol?: string;
  name?: string;
}

export interface Container {
  name?: string;
  image?: string;
  ports?: ContainerPort[];
  resources?: { requests?: ResourceList; limits?: ResourceList };
  /** Only on init containers: "Always" makes it a sidecar. */
  restartPolicy?: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export interface Taint {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: string;
}

export interface NodeSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[] | null;
  matchFields?: NodeSelectorRequirement[] | null;
}

export interface PreferredSchedulingTerm {
  weight: number;
  preference: NodeSelectorTerm;
}

export interface LabelSelectorObject {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] | null }> | null;
}

export interface PodAffinityTerm {
  labelSelector?: LabelSelectorObject | null;
  namespaces?: string[] | null;
  namespaceSelector?: LabelSelectorObject | null;
  topologyKey: string;
  matchLabelKeys?: string[] | null;
  mismatchLabelKeys?: string[] | null;
}

export interface WeightedPodAffinityTerm {
  weight: number;
  podAffinityTerm: PodAffinityTerm;
}

export interface Affinity {
  nodeAffinity?: {
    requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: NodeSelectorTerm[] | null } | null;
    preferredDuringSchedulingIgnoredDuringExecution?: PreferredSchedulingTerm[] | null;
  } | null;
  podAffinity?: {
    requiredDuringSchedulingIgnoredDuringExecution?: PodAffinityTerm[] | null;
    preferredDuringSchedulingIgnoredDuringExecution?: WeightedPodAffinityTerm[] | null;
  } | null;
  podAntiAffinity?: {
    requiredDuringSchedulingIgnoredDuringExecution?: PodAffinityTerm[] | null;
    preferredDuringSchedulingIgnoredDuringExecution?: WeightedPodAffinityTerm[] | null;
  } | null;
}

export interface TopologySpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  whenUnsatisfiable: string;
  labelSelector?: LabelSelectorObject | null;
  minDomains?: number;
  nodeAffinityPolicy?: string;
  nodeTaintsPolicy?: string;
  matchLabelKeys?: string[];
}

export interface PodSpec {
  nodeName?: string;
  schedulerName?: string;
  priority?: number;
  priorityClassName?: string;
  preemptionPolicy?: string;
  nodeSelector?: Record<string, string> | null;
  affinity?: Affinity | null;
  tolerations?: Toleration[] | null;
  topologySpreadConstraints?: TopologySpreadConstraint[] | null;
  containers?: Container[];
  initContainers?: Container[] | null;
  overhead?: ResourceList | null;
  /** Pod-level resources (PodLevelResources). */
  resources?: { requests?: ResourceList; limits?: ResourceList } | null;
  schedulingGates?: Array<{ name: string }> | null;
  volumes?: Array<{ name?: string; persistentVolumeClaim?: { claimName?: string }; [k: string]: unknown }> | null;
  [field: string]: unknown;
}

export interface Pod extends KubeObject {
  spec?: PodSpec;
  status?: { phase?: string; nominatedNodeName?: string; conditions?: unknown[]; [field: string]: unknown };
}

export interface ContainerImage {
  names?: string[] | null;
  sizeBytes?: number;
}

export interface Node extends KubeObject {
  spec?: { unschedulable?: boolean; taints?: Taint[] | null; podCIDR?: string; [field: string]: unknown };
  status?: {
    capacity?: ResourceList;
    allocatable?: ResourceList;
    images?: ContainerImage[] | null;
    conditions?: unknown[];
    [field: string]: unknown;
  };
}

/** Upstream's label/field for "every node in a topology domain has its own name". */
export const NODE_NAME_FIELD = 'metadata.name';

// ---- objects besides pods and nodes that plugins read (through DataProviders) ----

/** policy/v1 PodDisruptionBudget, the parts preemption reads. */
export interface PodDisruptionBudget extends KubeObject {
  spec?: { selector?: LabelSelectorObject | null; [field: string]: unknown };
  status?: {
    /** How many more pods the budget lets go right now. */
    disruptionsAllowed?: number;
    /** Pods already being evicted under this budget (name → time); they are not counted again. */
    disruptedPods?: Record<string, string> | null;
    [field: string]: unknown;
  };
}

/** core/v1 Service (and ReplicationController): a map selector; null or absent selects nothing. */
export interface MapSelected extends KubeObject {
  spec?: { selector?: Record<string, string> | null; [field: string]: unknown };
}

/** apps/v1 ReplicaSet or StatefulSet: a LabelSelector. */
export interface LabelSelected extends KubeObject {
  spec?: { selector?: LabelSelectorObject | null; [field: string]: unknown };
}
