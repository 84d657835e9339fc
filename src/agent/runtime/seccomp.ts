// The RuntimeDefault seccomp profile. Not a copy of containerd's/Docker's
// allow-list (several hundred syscalls with argument filters): a deny-list
// of the syscalls those profiles keep from unprivileged containers because
// they reach kernel-global state — module loading, kexec, reboot, clock and
// swap control, keyrings, BPF and perf, the mount/namespace family, handle-
// based opens, userfaultfd, obsolete syscalls — answered with EPERM, with
// everything else allowed. Capabilities still guard the rest.
const DENIED_SYSCALLS = [
  'acct', 'add_key', 'adjtimex', 'bpf', 'clock_adjtime', 'clock_settime', 'create_module',
  'delete_module', 'finit_module', 'fsconfig', 'fsmount', 'fsopen', 'fspick', 'get_kernel_syms',
  'get_mempolicy', 'init_module', 'ioperm', 'iopl', 'kcmp', 'kexec_file_load', 'kexec_load', 'keyctl',
  'lookup_dcookie', 'mbind', 'mount', 'mount_setattr', 'move_mount', 'move_pages', 'name_to_handle_at',
  'nfsservctl', 'open_by_handle_at', 'open_tree', 'perf_event_open', 'pivot_root', 'query_module',
  'quotactl', 'reboot', 'request_key', 'set_mempolicy', 'setns', 'settimeofday', 'stime', 'swapoff',
  'swapon', 'sysfs', '_sysctl', 'umount', 'umount2', 'unshare', 'uselib', 'userfaultfd', 'ustat',
  'vm86', 'vm86old',
];

const ARCHITECTURES: Record<string, string[]> = {
  x64: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  arm64: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
};

export function runtimeDefaultSeccomp(): Record<string, unknown> {
  return {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ARCHITECTURES[process.arch] ?? [],
    syscalls: [{ names: DENIED_SYSCALLS, action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
  };
}
