// The container runtime as the node agent sees it: a small port of the CRI
// (Kubernetes' Container Runtime Interface) — pod sandboxes that hold the
// namespaces a pod's containers share, and containers created, started,
// stopped and removed inside them. The agent's pod workers speak only this
// interface; `runc.ts` implements it with OCI bundles run by runc (or crun),
// and tests may use a fake. Everything a value needs is resolved by the
// caller (argv, env, mounts on the host): the runtime does no Kubernetes
// reasoning, it only makes processes.

export interface PodSandboxConfig {
  /** The pod's metadata.uid: sandbox ids and state directories derive from it. */
  podUid: string;
  namespace: string;
  name: string;
  /** Incremented each time the sandbox is re-created for the same pod. */
  attempt: number;
  hostname: string;
  hostNetwork: boolean;
  hostPID: boolean;
  hostIPC: boolean;
  /** The pod's network namespace (made by agent/network); absent with hostNetwork. */
  netnsPath?: string;
  /** Host files bind-mounted read-only into every container (kubelet writes them per pod). */
  etcHostsPath?: string;
  resolvConfPath?: string;
  /** Pod-level resource totals: the sandbox's cgroup is made with these limits. */
  resources?: ContainerResources;
  labels?: Record<string, string>;
}

export interface Mount {
  containerPath: string;
  hostPath: string;
  readOnly?: boolean;
  /** Mount propagation (kubelet: None → rprivate, HostToContainer → rslave, Bidirectional → rshared). */
  propagation?: 'private' | 'rslave' | 'rshared';
}

export interface ContainerResources {
  /** cgroup cpu.shares (kubelet: milliCPU request * 1024 / 1000, minimum 2). */
  cpuShares?: number;
  /** cpu.cfs_quota_us and cfs_period_us (from the CPU limit); absent: unlimited. */
  cpuQuotaMicros?: number;
  cpuPeriodMicros?: number;
  /** memory.limit_in_bytes; absent: unlimited. */
  memoryLimitBytes?: number;
  /** /proc/PID/oom_score_adj (kubelet's QoS-based values). */
  oomScoreAdj?: number;
}

export interface ContainerSecurity {
  /** Numeric ids (the agent resolves names from the image's /etc/passwd). */
  runAsUser?: number;
  runAsGroup?: number;
  supplementalGroups?: number[];
  privileged?: boolean;
  readOnlyRootFilesystem?: boolean;
  /** allowPrivilegeEscalation false → noNewPrivileges. */
  noNewPrivileges?: boolean;
  capabilitiesAdd?: string[];
  capabilitiesDrop?: string[];
  /** seccomp: RuntimeDefault applies the runtime's default profile; Unconfined none. */
  seccomp?: 'RuntimeDefault' | 'Unconfined';
}

export interface ContainerConfig {
  /** The Kubernetes container name (unique within the pod). */
  name: string;
  /** Restart count of this container in the pod: each attempt is a new runtime container. */
  attempt: number;
  /** The image as stored by agent/images (reference and its unpacked layers, topmost first). */
  image: { reference: string; imageId: string; layers: string[]; layerFormat: 'overlay' | 'plain' };
  /** The final argv (the agent merged command/args with the image's Entrypoint/Cmd). */
  argv: string[];
  /** KEY=VALUE, already expanded. */
  env: string[];
  workingDir?: string;
  mounts: Mount[];
  security?: ContainerSecurity;
  resources?: ContainerResources;
  tty?: boolean;
  stdin?: boolean;
  stdinOnce?: boolean;
  /** Where the runtime writes the container's output, in the CRI log format (one line per write: `RFC3339Nano stream P|F text`). */
  logPath: string;
  labels?: Record<string, string>;
}

export type ContainerState = 'created' | 'running' | 'exited' | 'unknown';

export interface ContainerStatus {
  id: string;
  sandboxId: string;
  name: string;
  attempt: number;
  state: ContainerState;
  /** Milliseconds since the epoch; 0 when not (yet) reached. */
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode?: number;
  /** 'OOMKilled' when the memory cgroup killed it, 'Error' / 'Completed' otherwise (kubelet's reasons). */
  reason?: string;
  pid?: number;
  imageId: string;
  logPath: string;
  labels: Record<string, string>;
}

export interface PodSandboxStatus {
  id: string;
  podUid: string;
  namespace: string;
  name: string;
  attempt: number;
  state: 'ready' | 'notready';
  createdAt: number;
  netnsPath?: string;
  labels: Record<string, string>;
}

export interface ExecOptions {
  argv: string[];
  tty?: boolean;
  stdin?: boolean;
  /** Seconds; 0 or absent: no limit. */
  timeoutSeconds?: number;
}

/** A running exec or attach: streams, terminal resizing, and the exit code. */
export interface StreamSession {
  stdin?: NodeJS.WritableStream;
  stdout: NodeJS.ReadableStream;
  /** Absent with a TTY (stderr is merged into stdout). */
  stderr?: NodeJS.ReadableStream;
  resize(size: { width: number; height: number }): void;
  /** Resolves with the exit code when the process ends. */
  exited: Promise<number>;
  /** Kill the exec'd process (attach: detach only). */
  close(): void;
}

export interface ContainerRuntime {
  readonly name: string;
  /** Create the sandbox (its namespaces, cgroup and a holder process) and return its id. */
  runPodSandbox(config: PodSandboxConfig): Promise<string>;
  /** Stop every container of the sandbox and the sandbox itself (idempotent). */
  stopPodSandbox(sandboxId: string): Promise<void>;
  /** Remove the stopped sandbox and its state (idempotent). */
  removePodSandbox(sandboxId: string): Promise<void>;
  /** podUid narrows the list cheaply where the runtime can (a hint: callers still filter). */
  listPodSandboxes(filter?: { podUid?: string }): Promise<PodSandboxStatus[]>;

  createContainer(sandboxId: string, config: ContainerConfig): Promise<string>;
  startContainer(containerId: string): Promise<void>;
  /** SIGTERM, then SIGKILL after `timeoutSeconds` (0: at once). Resolves when it has exited. */
  stopContainer(containerId: string, timeoutSeconds: number): Promise<void>;
  removeContainer(containerId: string): Promise<void>;
  containerStatus(containerId: string): Promise<ContainerStatus>;
  /** podUid (the sandbox's pod) narrows the list cheaply where the runtime can (a hint: callers still filter). */
  listContainers(filter?: { sandboxId?: string; podUid?: string }): Promise<ContainerStatus[]>;

  /** Run a command in the container and collect its output (exec probes, hooks). */
  execSync(containerId: string, options: ExecOptions): Promise<{ exitCode: number; stdout: Buffer; stderr: Buffer }>;
  /** Run a command with streams (kubectl exec). */
  exec(containerId: string, options: ExecOptions): Promise<StreamSession>;
  /** Attach to the container's main process (kubectl attach; needs stdin/tty set at create). */
  attach(containerId: string, options: { stdin?: boolean; tty?: boolean }): Promise<StreamSession>;
}
