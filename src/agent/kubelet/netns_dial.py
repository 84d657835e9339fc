# Connects to localhost:PORT inside a network namespace (kubectl port-forward
# to a pod, as kubelet's runtime does) and copies bytes between the
# connection and stdin/stdout. The first byte on stdout says how the dial
# went: b'+' then the connection's bytes, or b'-' then the error text.
# Python 3.11 has no os.setns: setns(2) is called through ctypes.
import ctypes
import os
import socket
import sys
import threading

CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
CHUNK = 64 * 1024


def fail(message):
    os.write(1, b'-' + message.encode())
    sys.exit(1)


def enter(netns):
    libc = ctypes.CDLL(None, use_errno=True)
    # Dies with the agent: an idle forwarded connection must not outlive it.
    libc.prctl(PR_SET_PDEATHSIG, 9)
    fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            fail('setns %s: %s' % (netns, os.strerror(ctypes.get_errno()).lower()))
    finally:
        os.close(fd)


def dial(port):
    # Go's wording (what kubectl users know from upstream's error text).
    errors = []
    for family, host, label in ((socket.AF_INET, '127.0.0.1', 'dial tcp4 127.0.0.1:%d'), (socket.AF_INET6, '::1', 'dial tcp6 [::1]:%d')):
        conn = socket.socket(family, socket.SOCK_STREAM)
        try:
            conn.connect((host, port))
            return conn, errors
        except OSError as error:
            conn.close()
            errors.append('%s: connect: %s' % (label % port, (error.strerror or str(error)).lower()))
    return None, errors


def client_to_pod(conn):
    try:
        while True:
            data = os.read(0, CHUNK)
            if not data:
                break
            conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def main():
    netns, port = sys.argv[1], int(sys.argv[2])
    if netns != '-':
        enter(netns)
    conn, errors = dial(port)
    if conn is None:
        fail('failed to connect to localhost:%d inside namespace "%s", IPv4: %s IPv6 %s' % (port, netns, errors[0], errors[1]))
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    os.write(1, b'+')
    upstream = threading.Thread(target=client_to_pod, args=(conn,), daemon=True)
    upstream.start()
    try:
        while True:
            data = conn.recv(CHUNK)
            if not data:
                break
            view = memoryview(data)
            while view:
                view = view[os.write(1, view):]
    except OSError:
        pass
    os.close(1)
    upstream.join()


main()
