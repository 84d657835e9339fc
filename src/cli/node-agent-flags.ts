// The node agent's flags, shared by `skiff agent` and `skiff server` (whose
// local agent takes the same ones), so the two commands cannot drift apart.
import type { Command } from 'commander';

export interface NodeAgentFlagValues {
  nodeName?: string;
  runtime: string;
  registriesConfig?: string;
  clusterDns?: string;
  clusterDomain: string;
  resolvConf?: string;
  kubeletPort: string;
  evictionHard?: string;
  evictionSoft?: string;
  evictionSoftGracePeriod?: string;
  evictionPressureTransitionPeriod?: string;
  evictionMaxPodGracePeriod?: string;
  disableServiceProxy?: boolean;
  ingressHttpPort: string;
  ingressHttpsPort: string;
  disableIngress?: boolean;
}

/** Add the agent's flags; `subject` names whose agent they set ("the agent", "the local agent"). */
export function addNodeAgentOptions(command: Command, subject: string): Command {
  return command
    .option('--node-name <name>', `${subject}'s node name (default: the hostname)`)
    .option('--runtime <name>', `OCI runtime of ${subject}: runc or crun`, 'runc')
    .option('--registries-config <file>', 'registries.yaml (k3s shape): mirrors, auth, TLS')
    .option('--cluster-dns <ips>', 'cluster DNS Service address(es) for ClusterFirst pods, comma-separated (default: kube-system/kube-dns\'s ClusterIP)')
    .option('--cluster-domain <domain>', 'the cluster\'s DNS domain', 'cluster.local')
    .option('--resolv-conf <file>', 'the node\'s resolv.conf: for dnsPolicy Default pods and where the cluster DNS forwards other names ("" = none)', '/etc/resolv.conf')
    .option('--kubelet-port <port>', `port of ${subject}'s logs/exec endpoint on the node IP (0 = a free port)`, '10250')
    .option('--eviction-hard <thresholds>', 'hard eviction thresholds, e.g. memory.available<100Mi,nodefs.available<10% (default kubelet\'s)')
    .option('--eviction-soft <thresholds>', 'soft eviction thresholds (each needs --eviction-soft-grace-period)')
    .option('--eviction-soft-grace-period <periods>', 'grace period per soft threshold, e.g. memory.available=1m30s')
    .option('--eviction-pressure-transition-period <duration>', 'how long a pressure condition stays True after its signal recovered', '5m')
    .option('--eviction-max-pod-grace-period <seconds>', 'the longest grace period a soft eviction gives a pod', '0')
    .option('--disable-service-proxy', `do not run ${subject}'s service proxy (nftables rules for Services)`)
    .option('--ingress-http-port <port>', `port of ${subject}'s ingress controller for HTTP on the node IP (0 = a free port)`, '80')
    .option('--ingress-https-port <port>', `port of ${subject}'s ingress controller for HTTPS on the node IP (0 = a free port)`, '443')
    .option('--disable-ingress', `do not run ${subject}'s ingress controller (Ingresses of class skiff)`);
}
