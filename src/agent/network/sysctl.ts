// Node-level kernel switches the Service proxy will need: IPv4 forwarding (so
// the node routes between its bridge and the outside, and DNATed pod traffic
// is forwarded) and bridge-nf-call-iptables (so traffic between two pods on
// the same bridge passes through nftables/iptables, where Service DNAT lives).
//
// Both are per network namespace (bridge-nf-call-* since Linux 5.3) and are
// written for the namespace of the calling process. So:
//   - in tests the agent runs inside the test host's netns (test/support/
//     test-host.ts) and this only changes that netns;
//   - on a real node the agent IS the host's agent, and switching these on is
//     what kubelet/kube-proxy setups (and k3s) do; the caller decides that by
//     calling this at all (`skiff agent`/`skiff server` with a real agent).
// Never call it from a process that is in the host's netns only to run a test.
import { readFile, writeFile } from 'node:fs/promises';

export const NODE_SYSCTLS: Record<string, string> = {
  'net/ipv4/ip_forward': '1',
  'net/bridge/bridge-nf-call-iptables': '1',
};

export interface SysctlResult {
  /** Keys set (or already set) to the wanted value. */
  set: string[];
  /** Keys the kernel does not offer here (e.g. br_netfilter not loaded), with why. */
  missing: { key: string; reason: string }[];
}

/** Switches on NODE_SYSCTLS in the caller's netns. `procSys` is for tests of the file handling only. */
export async function enableNodeForwarding(options: { procSys?: string } = {}): Promise<SysctlResult> {
  const root = options.procSys ?? '/proc/sys';
  const result: SysctlResult = { set: [], missing: [] };
  for (const [key, value] of Object.entries(NODE_SYSCTLS)) {
    const path = `${root}/${key}`;
    try {
      const current = (await readFile(path, 'utf8')).trim();
      if (current !== value) await writeFile(path, `${value}\n`);
      result.set.push(key);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw error;
      result.missing.push({ key, reason: key.startsWith('net/bridge/') ? 'the br_netfilter module is not loaded' : 'not offered by this kernel' });
    }
  }
  return result;
}
