// The two kinds one controller keeps at N pods: apps/v1 ReplicaSet and its
// predecessor, v1 ReplicationController. They differ only in where they live
// and in the selector's form (a LabelSelector vs a plain label map), so the
// controller is written once and told which kind it runs for — as upstream,
// whose ReplicationManager is a ReplicaSetController with another GVK.
import { selectorFromLabelSelector, selectorFromSet, type LabelSelector, type LabelSelectorObject } from '../../api/selectors/index.ts';
import type { ResourceType } from '../framework/informers.ts';
import type { ReplicaSet } from '../framework/types.ts';

export interface ReplicaKind {
  kind: 'ReplicaSet' | 'ReplicationController';
  apiVersion: string;
  group: string;
  resource: ResourceType;
  /** Registry name (--controllers). */
  controllerName: string;
  /** Event source component. */
  component: string;
  /** The pod selector; throws on a malformed one. */
  selectorOf(obj: ReplicaSet): LabelSelector;
}

export const replicaSetKind: ReplicaKind = {
  kind: 'ReplicaSet',
  apiVersion: 'apps/v1',
  group: 'apps',
  resource: { group: 'apps', version: 'v1', resource: 'replicasets' },
  controllerName: 'replicaset',
  component: 'replicaset-controller',
  selectorOf: (rs) => selectorFromLabelSelector(rs.spec?.selector as LabelSelectorObject | undefined),
};

export const replicationControllerKind: ReplicaKind = {
  kind: 'ReplicationController',
  apiVersion: 'v1',
  group: '',
  resource: { group: '', version: 'v1', resource: 'replicationcontrollers' },
  controllerName: 'replicationcontroller',
  component: 'replication-controller',
  // An RC's selector is a map; empty (never valid once defaulted from the template) selects nothing here.
  selectorOf: (rc) => {
    const set = (rc.spec?.selector ?? {}) as Record<string, string>;
    return Object.keys(set).length ? selectorFromSet(set) : selectorFromLabelSelector(undefined);
  },
};
