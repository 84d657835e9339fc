# skiff's per-container shim (the role containerd-shim / conmon play).
#
# Started detached by the agent, one per container (and per sandbox holder),
# so that a container's output keeps reaching its CRI log file and its exit
# status is recorded while the agent is down or restarting:
#   1. becomes a child subreaper, so the container's init is reparented to it
#      when `runc create` exits and its exit status can be collected here;
#   2. runs `<runtime> create` with pipes (or a console socket for a TTY) as
#      the container's stdio, and answers the agent with one JSON line on
#      stdout ({"ok":true,"pid":N} or {"ok":false,"error":"..."});
#   3. copies stdout/stderr into the log file in the CRI format
#      (`<RFC3339Nano> <stream> <F|P> <text>`: one entry per complete line, a
#      trailing fragment of a read as P, like conmon), reopening it on SIGUSR1
#      (log rotation);
#   4. serves attach clients on a unix socket (framed: 1 byte type, 4 bytes
#      big-endian length, payload; types 0 stdin, 1 stdout, 2 stderr,
#      3 resize "W H", 4 close stdin);
#   5. when the init process exits, drains the streams (at most 2 s more) and
#      writes exit.json (exit code, finish time, whether the memory cgroup
#      OOM-killed a process) atomically into the state directory.
# Only the standard library; python3 -I -S keeps start-up at ~20 ms and RSS at ~10 MB.
import json
import os
import select
import signal
import socket
import struct
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
DRAIN_SECONDS = 2.0


def timestamp(ns):
    seconds, fraction = divmod(ns, 1_000_000_000)
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds)) + '.%09dZ' % fraction


def write_all(fd, data):
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            select.select([], [fd], [], 1.0)
            continue
        view = view[n:]


def atomic_json(path, value):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(value, f)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


class CriLog:
    def __init__(self, path):
        self.path = path
        self.fd = -1
        self.open()

    def open(self):
        os.makedirs(os.path.dirname(self.path) or '.', exist_ok=True)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)

    def reopen(self):
        old = self.fd
        self.open()
        os.close(old)

    def write(self, stream, chunk):
        stamp = timestamp(time.time_ns()).encode()
        lines = chunk.split(b'\n')
        out = []
        for line in lines[:-1]:
            out.append(b'%s %s F %s\n' % (stamp, stream, line))
        if lines[-1]:
            out.append(b'%s %s P %s\n' % (stamp, stream, lines[-1]))
        write_all(self.fd, b''.join(out))


def set_subreaper():
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), 'prctl(PR_SET_CHILD_SUBREAPER)')


def receive_pty_master(listener, timeout):
    listener.settimeout(timeout)
    conn, _ = listener.accept()
    with conn:
        _, fds, _, _ = socket.recv_fds(conn, 4096, 1)
    if not fds:
        raise RuntimeError('no pty master received on the console socket')
    return fds[0]


def set_winsize(fd, payload):
    import fcntl
    import termios
    width, height = (int(x) for x in payload.split())
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', height, width, 0, 0))


class Shim:
    def __init__(self, cfg):
        self.cfg = cfg
        self.state_dir = cfg['stateDir']
        self.children = {}  # pid -> wait status, for children reaped before we knew who they were
        self.streams = {}   # fd -> b'stdout' | b'stderr'
        self.clients = {}   # socket -> bytearray of unparsed input
        self.stdin_fd = -1
        self.master = -1
        self.reopen = False

    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.children[pid] = status

    def wait_child(self, pid):
        while pid not in self.children:
            try:
                _, status = os.waitpid(pid, 0)
                self.children[pid] = status
            except ChildProcessError:
                self.reap()
                if pid not in self.children:
                    raise
        return self.children.pop(pid)

    def create(self):
        cfg = self.cfg
        tty = cfg.get('tty', False)
        devnull = os.open('/dev/null', os.O_RDWR)
        if cfg.get('stdin'):
            child_in, self.stdin_fd = os.pipe()
            os.set_inheritable(child_in, True)
        else:
            child_in = devnull
        err_r, err_w = os.pipe()
        listener = None
        if tty:
            out_w = devnull
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(cfg['consoleSocket'])
            listener.listen(1)
        else:
            out_r, out_w = os.pipe()
            self.streams[out_r] = b'stdout'
        pid_file = os.path.join(self.state_dir, 'init.pid')
        argv = list(cfg['runtime']) + ['create', '--bundle', cfg['bundle'], '--pid-file', pid_file]
        if tty:
            argv += ['--console-socket', cfg['consoleSocket']]
        argv.append(cfg['id'])
        actions = [(os.POSIX_SPAWN_DUP2, child_in, 0), (os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, err_w, 2)]
        runtime_pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions, setsid=False)
        if tty:
            try:
                self.master = receive_pty_master(listener, 60)
            finally:
                listener.close()
                try:
                    os.unlink(cfg['consoleSocket'])
                except FileNotFoundError:
                    pass
        status = self.wait_child(runtime_pid)
        for fd in (out_w, err_w) if not tty else (err_w,):
            if fd != devnull:
                os.close(fd)
        if cfg.get('stdin'):
            os.close(child_in)
        os.close(devnull)
        if tty:
            # The container writes to the pty; err pipe only carried the runtime's own messages.
            runtime_messages = self.read_available(err_r)
            os.close(err_r)
            self.streams[self.master] = b'stdout'
        else:
            # Nothing of the container has run yet (it waits for `start`): what is there came from the runtime.
            runtime_messages = self.read_available(err_r) + self.read_available(out_r)
            self.streams[err_r] = b'stderr'
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(runtime_messages.decode(errors='replace').strip() or 'runtime create failed with status %d' % os.waitstatus_to_exitcode(status))
        with open(pid_file) as f:
            return int(f.read().strip())

    @staticmethod
    def read_available(fd):
        data = b''
        os.set_blocking(fd, False)
        while True:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            data += chunk
        os.set_blocking(fd, True)
        return data

    def listen_attach(self):
        path = self.cfg.get('attachSocket')
        if not path:
            return None
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(8)
        listener.setblocking(False)
        return listener

    def broadcast(self, kind, chunk):
        frame = struct.pack('>BI', kind, len(chunk)) + chunk
        for client in list(self.clients):
            try:
                client.setblocking(True)
                client.sendall(frame)
            except OSError:
                self.drop_client(client)

    def drop_client(self, client):
        self.clients.pop(client, None)
        client.close()
        if self.cfg.get('stdinOnce') and self.stdin_fd >= 0 and self.master < 0:
            os.close(self.stdin_fd)
            self.stdin_fd = -1

    def client_input(self, client):
        try:
            data = client.recv(65536)
        except OSError:
            data = b''
        if not data:
            self.drop_client(client)
            return
        buffer = self.clients[client]
        buffer += data
        while len(buffer) >= 5:
            kind, length = struct.unpack('>BI', buffer[:5])
            if len(buffer) < 5 + length:
                break
            payload = bytes(buffer[5:5 + length])
            del buffer[:5 + length]
            target = self.master if self.master >= 0 else self.stdin_fd
            if kind == 0 and target >= 0:
                write_all(target, payload)
            elif kind == 3 and self.master >= 0:
                set_winsize(self.master, payload.decode())
            elif kind == 4 and self.stdin_fd >= 0:
                os.close(self.stdin_fd)
                self.stdin_fd = -1

    def oom_killed(self):
        path = self.cfg.get('oomControl')
        if not path:
            return False
        try:
            with open(path) as f:
                for line in f:
                    key, _, value = line.partition(' ')
                    if key == 'oom_kill':
                        return int(value) > 0
        except OSError:
            pass
        return False

    def serve(self, init_pid):
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGUSR1, self.on_reopen)
        attach = self.listen_attach()
        log = CriLog(self.cfg['logPath'])
        status = None
        deadline = None
        while True:
            self.reap()
            if status is None and init_pid in self.children:
                status = self.children.pop(init_pid)
                deadline = time.monotonic() + DRAIN_SECONDS
            if status is not None and (not self.streams or time.monotonic() >= deadline):
                break
            if self.reopen:
                self.reopen = False
                log.reopen()
            watched = [wake_r, *self.streams, *self.clients] + ([attach] if attach else [])
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                ready, _, _ = select.select(watched, [], [], timeout)
            except InterruptedError:
                continue
            for item in ready:
                if item == wake_r:
                    try:
                        os.read(wake_r, 4096)
                    except BlockingIOError:
                        pass
                elif item is attach:
                    try:
                        client, _ = attach.accept()
                        self.clients[client] = bytearray()
                    except OSError:
                        pass
                elif item in self.clients:
                    self.client_input(item)
                else:
                    try:
                        chunk = os.read(item, 65536)
                    except OSError:  # EIO: the pty's last slave closed
                        chunk = b''
                    if not chunk:
                        self.streams.pop(item)
                        os.close(item)
                        continue
                    stream = self.streams[item]
                    log.write(stream, chunk)
                    self.broadcast(1 if stream == b'stdout' else 2, chunk)
        code = os.waitstatus_to_exitcode(status)
        result = {
            'exitCode': code if code >= 0 else 128 - code,
            'signal': -code if code < 0 else 0,
            'finishedAt': time.time_ns() // 1_000_000,
            'oomKilled': self.oom_killed(),
        }
        atomic_json(os.path.join(self.state_dir, 'exit.json'), result)
        for client in list(self.clients):
            client.close()

    def on_reopen(self, *_):
        self.reopen = True


def main():
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    os.chdir(cfg['stateDir'])
    shim = Shim(cfg)
    try:
        set_subreaper()
        init_pid = shim.create()
    except Exception as error:  # report any failure to the agent, which cleans up
        sys.stdout.write(json.dumps({'ok': False, 'error': str(error)}) + '\n')
        sys.stdout.flush()
        return 1
    sys.stdout.write(json.dumps({'ok': True, 'pid': init_pid, 'shimPid': os.getpid()}) + '\n')
    sys.stdout.flush()
    devnull = os.open('/dev/null', os.O_RDWR)
    errors = os.open(os.path.join(cfg['stateDir'], 'shim.log'), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.dup2(errors, 2)
    shim.serve(init_pid)
    return 0


if __name__ == '__main__':
    sys.exit(main())
