// PodNetwork with iproute2: one Linux bridge per node holding the first
// address of the node's pod CIDR, and per pod a named network namespace
// (`skiff-<short uid>`) with one veth pair: the host end on the bridge (hairpin
// on, so a pod can reach itself through a Service's DNAT later), the pod end
// `eth0` carrying the pod's address and a default route via the bridge.
//
// Every step checks what is already there, so setUpPod after an agent restart
// (a new instance on the same state dir) finds the namespace and address the
// pod already has instead of renumbering it.
import { access } from 'node:fs/promises';
import { IpRoute2, isAlreadyExists, type CommandRunner } from './iproute.ts';
import { HostLocalIpam } from './ipam.ts';
import {
  DEFAULT_BRIDGE, NETNS_RUN_DIR, hostVethName, ipamDir, podNetnsName, podRecordPath, readPodRecords, removePodRecord,
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
  /** ensureBridge ran once; later pods mend or detect the bridge inside their own `ip` batch. */
  private bridgeChecked = false;

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
    if (!this.bridgeChecked) {
      await this.ensureBridge();
      this.bridgeChecked = true;
    }
    const netns = podNetnsName(pod.podUid);
    const hostVeth = hostVethName(pod.podUid);
    const address = await this.ipam.allocate(pod.podUid);
    // Recorded before anything is created, so `skiff cleanup` finds a half-made pod too.
    await writePodRecord(this.stateDir, { podUid: pod.podUid, namespace: pod.namespace, name: pod.name, netns, hostVeth, ip: address });
    const wiring = { netns, hostVeth, address };
    // A new pod costs two `ip` processes. Anything unexpected (the netns or veth
    // already there after a restart or crash, the bridge gone or replaced) makes
    // a command fail, and the step-by-step path below sorts it out.
    const quick = await this.setUpNewPod(wiring).then(() => true, () => false);
    if (!quick) await this.setUpStepByStep(wiring);
    return { netnsPath: `${NETNS_RUN_DIR}/${netns}`, ips: [address] };
  }

  /** The usual case, a pod with nothing yet: one `ip -batch` on the node, one in the pod's netns. */
  private async setUpNewPod({ netns, hostVeth, address }: PodWiring): Promise<void> {
    const scratch = { scratchDir: this.stateDir };
    await this.ip.batch([
      // Idempotent, so a bridge that lost its address or went down behind the agent's back is mended with the next pod.
      ['addr', 'replace', `${this.gateway}/${this.ipam.prefix}`, 'dev', this.bridgeName],
      ['link', 'set', 'dev', this.bridgeName, 'up'],
      ['netns', 'add', netns],
      ['link', 'add', 'name', hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns],
      ['link', 'set', 'dev', hostVeth, 'master', this.bridgeName],
      ['link', 'set', 'dev', hostVeth, 'type', 'bridge_slave', 'hairpin', 'on'],
      ['link', 'set', 'dev', hostVeth, 'up'],
    ], scratch);
    await this.ip.inNetns(netns).batch([
      ['link', 'set', 'dev', 'lo', 'up'],
      ['addr', 'replace', `${address}/${this.ipam.prefix}`, 'dev', 'eth0'],
      ['link', 'set', 'dev', 'eth0', 'up'],
      ['route', 'replace', 'default', 'via', this.gateway, 'dev', 'eth0'],
    ], scratch);
  }

  /** Checks each piece and makes what is missing (after a restart or a crash between steps). */
  private async setUpStepByStep({ netns, hostVeth, address }: PodWiring): Promise<void> {
    await this.ensureBridge();
    await this.ensureNetns(netns);
    const inPod = this.ip.inNetns(netns);
    const scratch = { scratchDir: this.stateDir };

    const [eth0, hostEnd] = await Promise.all([inPod.link('eth0'), this.ip.link(hostVeth)]);
    if (!eth0 || !hostEnd) {
      // A half-made pair (crash between steps): start this pod's pair over.
      if (hostEnd) await this.ip.deleteLink(hostVeth);
      if (eth0) await inPod.deleteLink('eth0');
      await this.ip.exec(['link', 'add', 'name', hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
    }
    await this.ip.batch([
      ['link', 'set', 'dev', hostVeth, 'master', this.bridgeName],
      ['link', 'set', 'dev', hostVeth, 'type', 'bridge_slave', 'hairpin', 'on'],
      ['link', 'set', 'dev', hostVeth, 'up'],
    ], scratch);

    const stale = (eth0?.addr_info ?? []).filter((a) => a.family === 'inet' && a.local !== address);
    await inPod.batch([
      ['link', 'set', 'dev', 'lo', 'up'],
      ...stale.map((old) => ['addr', 'del', `${old.local}/${old.prefixlen}`, 'dev', 'eth0']),
      ['addr', 'replace', `${address}/${this.ipam.prefix}`, 'dev', 'eth0'],
      ['link', 'set', 'dev', 'eth0', 'up'],
      ['route', 'replace', 'default', 'via', this.gateway, 'dev', 'eth0'],
    ], scratch);
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
    const hostVeth = hostVethName(pod.podUid);
    // The kubelet releases a pod's network more than once (finished, then removed). With no
    // record and no netns there is nothing this agent made (setUp records before creating): no `ip` at all.
    if (!(await pathExists(podRecordPath(this.stateDir, netns))) && !(await pathExists(`${NETNS_RUN_DIR}/${netns}`))) {
      await this.ipam.release(pod.podUid);
      return;
    }
    // Deleting the host end removes the pod end too, even while a container still holds the netns.
    // Both there (the usual case): one `ip` process; otherwise each step on its own, where missing is fine.
    const quick = await this.ip.batch([['link', 'del', 'dev', hostVeth], ['netns', 'del', netns]], { scratchDir: this.stateDir }).then(() => true, () => false);
    if (!quick) {
      await this.ip.deleteLink(hostVeth);
      await this.ip.deleteNetns(netns);
    }
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

interface PodWiring {
  netns: string;
  hostVeth: string;
  address: string;
}

function pathExists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

function ignoreExisting(error: unknown): void {
  if (!isAlreadyExists(error)) throw error;
}
