# `exec` with a TTY for the agent. runc only hands out a pty master over a
# console socket when it detaches (`runc exec -d -t --console-socket S`), and
# passes it as SCM_RIGHTS, which Node cannot receive without a native addon.
# This helper (as containerd-shim does for exec) becomes a child subreaper,
# runs the detached exec, receives the master (socket.recv_fds), collects the
# exec'd process when runc's exit reparents it here, and relays:
#   its stdin  -> pty master (what the user types)
#   pty master -> its stdout (the terminal's output)
#   fd 3       -> terminal size changes, one "WIDTH HEIGHT" line each
# It exits with the exec'd process's exit code (128+N for signal N).
# Usage: exec_tty.py CONSOLE_SOCKET PID_FILE RUNTIME_ARGV_JSON
import ctypes
import fcntl
import json
import os
import select
import signal
import socket
import struct
import sys
import termios
import time

PR_SET_CHILD_SUBREAPER = 36


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def exit_code(status):
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


def main():
    socket_path, pid_file = sys.argv[1], sys.argv[2]
    argv = json.loads(sys.argv[3])
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(1)
    devnull = os.open('/dev/null', os.O_RDWR)
    # runc's own messages go to our stderr: the agent reports them when the exec fails.
    runtime_pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1)])
    listener.settimeout(30)
    master = -1
    try:
        conn, _ = listener.accept()
        with conn:
            _, fds, _, _ = socket.recv_fds(conn, 4096, 1)
            master = fds[0]
    except OSError as error:
        sys.stderr.write('no terminal from the runtime: %s\n' % error)
    finally:
        listener.close()
        os.unlink(socket_path)
    reaped = {}

    def reap():
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            reaped[pid] = status

    while runtime_pid not in reaped:
        reap()
        if runtime_pid not in reaped:
            select.select([wake_r], [], [], 0.5)
    if master < 0 or exit_code(reaped[runtime_pid]) != 0:
        return exit_code(reaped[runtime_pid]) or 1
    with open(pid_file) as f:
        pid = int(f.read().strip())
    control = 3
    try:
        os.fstat(control)
    except OSError:
        control = -1
    watched = [wake_r, master, 0] + ([control] if control >= 0 else [])
    pending = b''
    deadline = None
    while True:
        reap()
        if deadline is None and pid in reaped:
            deadline = time.monotonic() + 1.0  # drain what the terminal still holds
        if deadline is not None and (master not in watched or time.monotonic() >= deadline):
            break
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select(watched, [], [], timeout)
        for fd in ready:
            if fd == wake_r:
                try:
                    os.read(wake_r, 4096)
                except BlockingIOError:
                    pass
                continue
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the process and everything holding the slave are gone
                data = b''
            if fd == master:
                if data:
                    write_all(1, data)
                else:
                    watched.remove(master)
            elif fd == 0:
                if data:
                    write_all(master, data)
                else:
                    watched.remove(0)
                    write_all(master, b'\x04')  # EOF on our stdin: ^D to the terminal
            else:
                if not data:
                    watched.remove(control)
                    continue
                pending += data
                while b'\n' in pending:
                    line, pending = pending.split(b'\n', 1)
                    width, height = (int(x) for x in line.split())
                    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack('HHHH', height, width, 0, 0))
    return exit_code(reaped[pid])


if __name__ == '__main__':
    sys.exit(main())
