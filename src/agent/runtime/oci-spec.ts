// OCI runtime spec (config.json) for the sandbox holder and for containers,
// shaped like containerd's CRI defaults: the same default mounts, capability
// set, masked/read-only /proc paths, device rules; namespaces joined from the
// sandbox holder; cgroup limits from ContainerResources.
import { runtimeDefaultSeccomp } from './seccomp.ts';
import type { ContainerConfig, ContainerResources, PodSandboxConfig } from './types.ts';

/** containerd's default capability set for CRI containers. */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/** Every capability up to CAP_CHECKPOINT_RESTORE (40), in kernel order. */
export const ALL_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

const MASKED_PATHS = [
  '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** What this machine allows, measured once by the runtime. */
export interface HostFacts {
  /** Lowest oom_score_adj we may give (our own value when CAP_SYS_RESOURCE is missing, as in some sandboxes). */
  oomScoreAdjFloor: number;
  /** memory.memsw.* exists (swap accounting): the swap limit can be set to the memory limit. */
  swapAccounting: boolean;
}

function clampOomScoreAdj(value: number | undefined, host: HostFacts): number | undefined {
  return value === undefined ? undefined : Math.min(1000, Math.max(value, host.oomScoreAdjFloor));
}

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

interface OciMount { destination: string; type: string; source: string; options: string[] }

function capName(name: string): string {
  const upper = name.toUpperCase();
  return upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
}

/** containerd's order: ALL in add → every capability, ALL in drop → none, then the named adds, then the named drops. */
export function effectiveCapabilities(options: { add?: string[]; drop?: string[]; privileged?: boolean }): string[] {
  if (options.privileged) return [...ALL_CAPABILITIES];
  const add = (options.add ?? []).map(capName);
  const drop = (options.drop ?? []).map(capName);
  let caps = add.includes('CAP_ALL') ? [...ALL_CAPABILITIES] : [...DEFAULT_CAPABILITIES];
  if (drop.includes('CAP_ALL')) caps = [];
  for (const cap of add) if (cap !== 'CAP_ALL' && !caps.includes(cap)) caps.push(cap);
  return caps.filter((cap) => !drop.includes(cap));
}

function defaultMounts(options: { privileged: boolean; shmPath?: string }): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', options.privileged ? 'rw' : 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', options.privileged ? 'rw' : 'ro'] },
    options.shmPath
      ? { destination: '/dev/shm', type: 'bind', source: options.shmPath, options: ['rbind', 'rw', 'nosuid', 'nodev', 'noexec'] }
      : { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
  ];
}

export function cgroupResources(resources: ContainerResources | undefined, options: { privileged?: boolean; host?: HostFacts } = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {
    devices: [{ allow: options.privileged === true, access: 'rwm' }],
  };
  const cpu: Record<string, number> = {};
  if (resources?.cpuShares !== undefined) cpu.shares = resources.cpuShares;
  if (resources?.cpuQuotaMicros !== undefined) {
    cpu.quota = resources.cpuQuotaMicros;
    cpu.period = resources.cpuPeriodMicros ?? 100_000;
  }
  if (Object.keys(cpu).length > 0) out.cpu = cpu;
  // Swap limited to the memory limit: no swap beyond it, as kubelet does when swap is off.
  if (resources?.memoryLimitBytes !== undefined) {
    out.memory = options.host?.swapAccounting === false ? { limit: resources.memoryLimitBytes } : { limit: resources.memoryLimitBytes, swap: resources.memoryLimitBytes };
  }
  return out;
}

function namespaces(options: { entries: [string, string | undefined, boolean][] }): Record<string, string>[] {
  return options.entries.filter(([, , wanted]) => wanted).map(([type, path]): Record<string, string> => (path ? { type, path } : { type }));
}

/** The sandbox holder: busybox `sleep` (bind-mounted from the host) in the pod's namespaces. */
export function sandboxSpec(options: { config: PodSandboxConfig; busybox: string; hostnameFile: string; cgroupsPath: string; host: HostFacts }): Record<string, unknown> {
  const { config } = options;
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 65535, gid: 65535 },
      args: ['/sleep', '2147483647'],
      env: [DEFAULT_PATH],
      cwd: '/',
      capabilities: { bounding: [], effective: [], permitted: [] },
      noNewPrivileges: true,
      oomScoreAdj: clampOomScoreAdj(-998, options.host),
    },
    root: { path: 'rootfs', readonly: true },
    hostname: config.hostNetwork ? undefined : config.hostname,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/sleep', type: 'bind', source: options.busybox, options: ['rbind', 'ro'] },
    ],
    linux: {
      cgroupsPath: options.cgroupsPath,
      resources: cgroupResources(undefined),
      namespaces: namespaces({ entries: [
        ['pid', undefined, !config.hostPID],
        ['ipc', undefined, !config.hostIPC],
        ['uts', undefined, !config.hostNetwork],
        ['mount', undefined, true],
        ['network', config.netnsPath, !config.hostNetwork],
      ] }),
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
      seccomp: runtimeDefaultSeccomp(),
    },
  };
}

export interface SandboxView {
  config: PodSandboxConfig;
  /** The holder's pid, whose namespaces containers join. */
  pid: number;
  hostnameFile: string;
  shmPath?: string;
}

function bindOptions(options: { readOnly?: boolean; propagation?: string }): string[] {
  return ['rbind', options.readOnly ? 'ro' : 'rw', options.propagation ?? 'rprivate'];
}

export function containerSpec(options: { config: ContainerConfig; sandbox: SandboxView; cgroupsPath: string; host: HostFacts }): Record<string, unknown> {
  const { config, sandbox } = options;
  const pod = sandbox.config;
  const security = config.security ?? {};
  const privileged = security.privileged === true;
  const caps = effectiveCapabilities({ add: security.capabilitiesAdd, drop: security.capabilitiesDrop, privileged });
  const userPaths = new Set(config.mounts.map((m) => m.containerPath));
  const readOnlyEtc = security.readOnlyRootFilesystem === true;
  const etcMounts: OciMount[] = [];
  const etcFiles: [string, string | undefined][] = [['/etc/hosts', pod.etcHostsPath], ['/etc/resolv.conf', pod.resolvConfPath], ['/etc/hostname', sandbox.hostnameFile]];
  for (const [destination, source] of etcFiles) {
    if (source && !userPaths.has(destination)) etcMounts.push({ destination, type: 'bind', source, options: bindOptions({ readOnly: readOnlyEtc }) });
  }
  const mounts = [
    ...defaultMounts({ privileged, shmPath: sandbox.shmPath }).filter((m) => !userPaths.has(m.destination)),
    ...etcMounts,
    ...config.mounts.map((m) => ({ destination: m.containerPath, type: 'bind', source: m.hostPath, options: bindOptions({ readOnly: m.readOnly, propagation: m.propagation }) })),
  ];
  const env = config.env.some((e) => e.startsWith('PATH=')) ? config.env : [DEFAULT_PATH, ...config.env];
  const holderNs = (ns: string) => `/proc/${sandbox.pid}/ns/${ns}`;
  const linux: Record<string, unknown> = {
    cgroupsPath: options.cgroupsPath,
    resources: cgroupResources(config.resources, { privileged, host: options.host }),
    namespaces: namespaces({ entries: [
      ['pid', undefined, !pod.hostPID],
      ['ipc', holderNs('ipc'), !pod.hostIPC],
      ['uts', holderNs('uts'), !pod.hostNetwork],
      ['mount', undefined, true],
      ['network', pod.netnsPath ?? holderNs('net'), !pod.hostNetwork],
    ] }),
  };
  if (!privileged) {
    linux.maskedPaths = MASKED_PATHS;
    linux.readonlyPaths = READONLY_PATHS;
    if (security.seccomp === 'RuntimeDefault') linux.seccomp = runtimeDefaultSeccomp();
  }
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: config.tty === true,
      user: { uid: security.runAsUser ?? 0, gid: security.runAsGroup ?? 0, additionalGids: security.supplementalGroups },
      args: config.argv,
      env,
      cwd: config.workingDir || '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: security.noNewPrivileges === true,
      oomScoreAdj: clampOomScoreAdj(config.resources?.oomScoreAdj, options.host),
    },
    root: { path: 'rootfs', readonly: security.readOnlyRootFilesystem === true },
    mounts,
    linux,
  };
}
