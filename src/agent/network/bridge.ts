// PodNetwork with iproute2: one Linux bridge per node holding the first
// address of the node's pod CIDR, and per pod a named network namespace
// (`skiff-<short uid>`) with one veth pair: the host end on the bridge (hairpin
// on, so a pod can reach itself through a Service's DNAT later), the pod end
// `eth0` carrying the pod's address and a default route via the bridge.
//
// Every step checks what is already there, so setUpPod after an agent restart
// (a new instance on the same state dir) finds the namespace and address the
// pod already has instead of renumbering it.
import { IpRoute2, isAlreadyExists, type CommandRunner } from './iproute.ts';
import { HostLocalIpam } from './ipam.ts';
import {
  DEFAULT_BRIDGE, NETNS_RUN_DIR, hostVethName, ipamDir, podNetnsName, readPodRecords, removePodRecord,
  writeNodeRecord, writePodRecord, type PodNetworkRecord,
} from './state.ts';
import type { PodNetwork, PodNetworkOptions, PodNetworkRef, PodNetworkStatus } from './types.ts';

export interface BridgePodNetworkOptions extends PodNetworkOptions {
  /** Runs `ip` (tests may wrap it); default execFile. */
  run?: CommandRunner;
}

export class BridgePodNetwork implements PodNetwork {
  readonly bridgeName: string;
  private readonly stateDir: string;
  private readonly podCidr: string;
  private readonly ip: IpRoute2;
  private readonly ipam: HostLocalIpam;
  /** One operation per pod at a time (set up and tear down of the same pod never interleave). */
  private readonly podLocks = new Map<string, Promise<unknown>>();
  private nodeRecorded = false;

  constructor(options: BridgePodNetworkOptions) {
    this.bridgeName = options.bridgeName ?? DEFAULT_BRIDGE;
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(this.bridgeName)) throw new Error(`bridge name ${JSON.stringify(this.bridgeName)} is not a valid interface name (at most 15 characters)`);
    this.stateDir = options.stateDir;
    this.ip = new IpRoute2({ run: options.run });
    this.ipam = new HostLocalIpam({ range: options.podCidr, dir: ipamDir(options.stateDir, options.podCidr) });
    this.podCidr = this.ipam.range;
  }

  /** The bridge's (gateway) address, the first of the pod CIDR. */
  get gateway(): string {
    return this.ipam.gateway;
  }

  setUpPod(pod: PodNetworkRef): Promise<PodNetworkStatus> {
    return this.withPodLock(pod.podUid, () => this.setUp(pod));
  }

  tearDownPod(pod: PodNetworkRef): Promise<void> {
    return this.withPodLock(pod.podUid, () => this.tearDown(pod));
  }

  async podStatus(pod: PodNetworkRef): Promise<PodNetworkStatus | undefined> {
    const netns = podNetnsName(pod.podUid);
    if (!(await this.ip.netnsNames()).includes(netns)) return undefined;
    const eth0 = await this.ip.inNetns(netns).link('eth0').catch(() => undefined);
    const ips = (eth0?.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => a.local);
    if (ips.length === 0) return undefined;
    return { netnsPath: `${NETNS_RUN_DIR}/${netns}`, ips };
  }

  /** Pods this node has set up (from the state dir), e.g. to tear down those no longer bound here. */
  recordedPods(): Promise<PodNetworkRecord[]> {
    return readPodRecords(this.stateDir);
  }

  /**
   * Creates the bridge with the gateway address, or finds it. Checked on every
   * pod set-up (one `ip` call when all is in place), so a bridge removed behind
   * the agent's back comes back with the next pod.
   */
  async ensureBridge(): Promise<void> {
    if (!this.nodeRecorded) {
      await writeNodeRecord(this.stateDir, { bridgeName: this.bridgeName, podCidr: this.podCidr });
      this.nodeRecorded = true;
    }
    let bridge = await this.ip.link(this.bridgeName);
    if (!bridge) {
      await this.ip.exec(['link', 'add', 'name', this.bridgeName, 'type', 'bridge']).catch(ignoreExisting);
      bridge = await this.ip.link(this.bridgeName);
    }
    const kind = bridge?.linkinfo?.info_kind;
    if (kind !== 'bridge') throw new Error(`${this.bridgeName} exists and is a ${kind ?? 'link of unknown kind'}, not a bridge`);
    const hasGateway = (bridge?.addr_info ?? []).some((a) => a.family === 'inet' && a.local === this.gateway && a.prefixlen === this.ipam.prefix);
    if (!hasGateway) await this.ip.exec(['addr', 'replace', `${this.gateway}/${this.ipam.prefix}`, 'dev', this.bridgeName]);
    if (!bridge?.flags?.includes('UP')) await this.ip.exec(['link', 'set', 'dev', this.bridgeName, 'up']);
  }

  private async setUp(pod: PodNetworkRef): Promise<PodNetworkStatus> {
    await this.ensureBridge();
    const netns = podNetnsName(pod.podUid);
    const hostVeth = hostVethName(pod.podUid);
    const address = await this.ipam.allocate(pod.podUid);
    // Recorded before anything is created, so `skiff cleanup` finds a half-made pod too.
    await writePodRecord(this.stateDir, { podUid: pod.podUid, namespace: pod.namespace, name: pod.name, netns, hostVeth, ip: address });
    await this.ensureNetns(netns);
    const inPod = this.ip.inNetns(netns);
    await inPod.exec(['link', 'set', 'dev', 'lo', 'up']);

    const [eth0, hostEnd] = await Promise.all([inPod.link('eth0'), this.ip.link(hostVeth)]);
    if (!eth0 || !hostEnd) {
      // A half-made pair (crash between steps): start this pod's pair over.
      await this.ip.deleteLink(hostVeth);
      if (eth0) await inPod.deleteLink('eth0');
      await this.ip.exec(['link', 'add', 'name', hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
    }
    await this.ip.exec(['link', 'set', 'dev', hostVeth, 'master', this.bridgeName]);
    await this.ip.exec(['link', 'set', 'dev', hostVeth, 'type', 'bridge_slave', 'hairpin', 'on']);
    await this.ip.exec(['link', 'set', 'dev', hostVeth, 'up']);

    const stale = (eth0?.addr_info ?? []).filter((a) => a.family === 'inet' && a.local !== address);
    for (const old of stale) await inPod.exec(['addr', 'del', `${old.local}/${old.prefixlen}`, 'dev', 'eth0']);
    await inPod.exec(['addr', 'replace', `${address}/${this.ipam.prefix}`, 'dev', 'eth0']);
    await inPod.exec(['link', 'set', 'dev', 'eth0', 'up']);
    await inPod.exec(['route', 'replace', 'default', 'via', this.gateway, 'dev', 'eth0']);
    return { netnsPath: `${NETNS_RUN_DIR}/${netns}`, ips: [address] };
  }

  /** Creates the named netns unless a usable one is there (a bare file left by a crash is replaced). */
  private async ensureNetns(netns: string): Promise<void> {
    if ((await this.ip.netnsNames()).includes(netns)) {
      const usable = await this.ip.inNetns(netns).link('lo').then(Boolean, () => false);
      if (usable) return;
      await this.ip.deleteNetns(netns);
    }
    await this.ip.exec(['netns', 'add', netns]).catch(ignoreExisting);
  }

  private async tearDown(pod: PodNetworkRef): Promise<void> {
    const netns = podNetnsName(pod.podUid);
    // Deleting the host end removes the pod end too, even while a container still holds the netns.
    await this.ip.deleteLink(hostVethName(pod.podUid));
    await this.ip.deleteNetns(netns);
    await this.ipam.release(pod.podUid);
    await removePodRecord(this.stateDir, netns);
  }

  private withPodLock<T>(podUid: string, work: () => Promise<T>): Promise<T> {
    const previous = this.podLocks.get(podUid) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    this.podLocks.set(podUid, settled);
    void settled.then(() => {
      if (this.podLocks.get(podUid) === settled) this.podLocks.delete(podUid);
    });
    return next;
  }
}

function ignoreExisting(error: unknown): void {
  if (!isAlreadyExists(error)) throw error;
}
