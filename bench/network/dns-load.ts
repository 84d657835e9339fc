// The DNS load generator of bench:network, run in a worker thread so that the
// server under test has the main thread's event loop to itself. It keeps
// `inFlight` UDP queries outstanding against 127.0.0.1:port, each for one of
// `names` (A records), until `count` answers arrived or `durationMs` passed,
// and posts back the answer count, the failures and the latencies.
import { createSocket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import dnsPacket from 'dns-packet';

export interface DnsLoadRequest {
  port: number;
  names: string[];
  inFlight: number;
  count: number;
  durationMs: number;
  /** An unanswered query counts as failed after this long. */
  timeoutMs: number;
}

export interface DnsLoadResult {
  answered: number;
  /** Answers that were not NOERROR with at least one A record. */
  wrong: number;
  timedOut: number;
  elapsedMs: number;
  latenciesMs: number[];
}

function run(request: DnsLoadRequest): Promise<DnsLoadResult> {
  const socket = createSocket('udp4');
  const pending = new Map<number, { sentAt: number; timer: NodeJS.Timeout }>();
  const result: DnsLoadResult = { answered: 0, wrong: 0, timedOut: 0, elapsedMs: 0, latenciesMs: [] };
  const started = performance.now();
  let sent = 0;
  let nextId = 1;
  return new Promise((resolve) => {
    const finished = () => sent >= request.count || performance.now() - started >= request.durationMs;
    const maybeDone = () => {
      if (pending.size > 0 || !finished()) return;
      result.elapsedMs = performance.now() - started;
      socket.close();
      resolve(result);
    };
    const send = () => {
      if (finished()) return maybeDone();
      const id = nextId;
      nextId = nextId === 65535 ? 1 : nextId + 1;
      const name = request.names[sent % request.names.length];
      sent++;
      const query = dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] });
      const timer = setTimeout(() => {
        pending.delete(id);
        result.timedOut++;
        send();
      }, request.timeoutMs);
      pending.set(id, { sentAt: performance.now(), timer });
      socket.send(query, request.port, '127.0.0.1');
    };
    socket.on('message', (message) => {
      const reply = dnsPacket.decode(message);
      const entry = pending.get(reply.id ?? -1);
      if (!entry) return;
      clearTimeout(entry.timer);
      pending.delete(reply.id!);
      result.answered++;
      result.latenciesMs.push(performance.now() - entry.sentAt);
      if (((reply.flags ?? 0) & 0xf) !== 0 /* rcode NOERROR */ || !(reply.answers ?? []).some((a) => a.type === 'A')) result.wrong++;
      send();
    });
    socket.bind(0, '127.0.0.1', () => {
      for (let i = 0; i < request.inFlight; i++) send();
    });
  });
}

if (parentPort) {
  const port = parentPort;
  void run(workerData as DnsLoadRequest).then((result) => port.postMessage(result));
}
