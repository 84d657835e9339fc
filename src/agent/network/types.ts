// Pod networking as the node agent sees it: a network namespace per pod with
// one interface on the node's bridge and an address from the node's pod CIDR
// (host-local IPAM that survives agent restarts). `bridge.ts` implements it
// with iproute2 (bridge + veth); tests may use a fake.

export interface PodNetworkOptions {
  /** The Node's spec.podCIDR, e.g. 10.42.0.0/24: the bridge takes the first address. */
  podCidr: string;
  /** State directory (IPAM allocations) under the agent's data dir. */
  stateDir: string;
  /** Bridge name (default `skiff0`); tests use a per-test name. */
  bridgeName?: string;
}

export interface PodNetworkRef {
  podUid: string;
  namespace: string;
  name: string;
}

export interface PodNetworkStatus {
  /** /var/run/netns/NAME or another bind-mounted namespace path. */
  netnsPath: string;
  /** The pod's addresses (IPv4 first). */
  ips: string[];
}

export interface PodNetwork {
  /** Create (or find, after a restart) the pod's namespace, interface and address. Idempotent. */
  setUpPod(pod: PodNetworkRef): Promise<PodNetworkStatus>;
  /** Remove the pod's interface, namespace and address (idempotent). */
  tearDownPod(pod: PodNetworkRef): Promise<void>;
  /** The pod's status if it is set up (after a restart too). */
  podStatus(pod: PodNetworkRef): Promise<PodNetworkStatus | undefined>;
}
