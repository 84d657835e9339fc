// The pod's sandbox: its network (address from the node's pod CIDR, none
// with hostNetwork), /etc/hosts and resolv.conf, and the runtime sandbox
// holding the namespaces every container of the pod joins.
import { writePodDnsFiles, type DnsPod } from '../network/dns-files.ts';
import { podHostname } from './container-config.ts';
import { recordPodEvent, type KubeletContext, type PodRecord } from './context.ts';
import { podLabels } from './labels.ts';
import type { PodObservation } from './observe.ts';
import { podDir } from './paths.ts';
import { specOf } from './pod-types.ts';
import { podSandboxResources } from './resources.ts';

const networkRef = (record: PodRecord) => ({ podUid: record.uid, namespace: record.pod.metadata.namespace ?? '', name: record.pod.metadata.name ?? '' });

/** The ready sandbox's id, creating the sandbox (and the pod's network) when there is none. */
export async function ensureSandbox(ctx: KubeletContext, record: PodRecord, observation: PodObservation): Promise<string> {
  const spec = specOf(record.pod);
  if (observation.sandbox) {
    if (record.podIps.length === 0) {
      record.podIps = spec.hostNetwork ? [ctx.node.hostIp] : ((await ctx.network.podStatus(networkRef(record)))?.ips ?? []);
    }
    return observation.sandbox.id;
  }
  // A sandbox that died (a node reboot, a killed holder) takes its containers' namespaces with it.
  for (const old of observation.sandboxes) await ctx.runtime.stopPodSandbox(old.id);

  let netnsPath: string | undefined;
  if (spec.hostNetwork) {
    record.podIps = [ctx.node.hostIp];
  } else {
    const network = await ctx.network.setUpPod(networkRef(record));
    record.podIps = network.ips;
    netnsPath = network.netnsPath;
  }
  const dns = await writePodDnsFiles({
    podDir: podDir(ctx.dataDir, record.uid),
    pod: record.pod as unknown as DnsPod,
    podIps: record.podIps,
    clusterDns: ctx.clusterDns,
    clusterDomain: ctx.clusterDomain,
    hostResolvConfPath: ctx.hostResolvConfPath,
    nodeIps: [ctx.node.hostIp],
  });
  for (const warning of dns.warnings) recordPodEvent(ctx, { pod: record.pod, type: 'Warning', reason: warning.reason, message: warning.message });
  const attempt = (observation.sandboxes[0]?.attempt ?? -1) + 1;
  return ctx.runtime.runPodSandbox({
    podUid: record.uid,
    namespace: record.pod.metadata.namespace ?? '',
    name: record.pod.metadata.name ?? '',
    attempt,
    hostname: podHostname(record.pod),
    hostNetwork: spec.hostNetwork === true,
    hostPID: spec.hostPID === true,
    hostIPC: spec.hostIPC === true,
    netnsPath,
    etcHostsPath: dns.hostsPath,
    resolvConfPath: dns.resolvConfPath,
    resources: podSandboxResources(spec),
    labels: podLabels({ uid: record.uid, name: record.pod.metadata.name ?? '', namespace: record.pod.metadata.namespace ?? '' }),
  });
}
