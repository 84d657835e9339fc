// bench:network, http part: requests/s and p99 latency through a ClusterIP
// Service and through the Ingress, each beside direct pod-IP access in the
// same run. A real node is needed (runc pods, the node's nftables rules, the
// ingress controller), so this makes a test host (bench/lib/test-host-run.ts)
// and runs bench/network/http-run.ts inside it; its JSON lines are returned.
import { join } from 'node:path';
import { repoRoot } from '../lib/server.ts';
import { nodeBenchProblems, runInsideTestHost } from '../lib/test-host-run.ts';

export async function httpThroughput(options: { log: (message: string) => void }): Promise<object[]> {
  const log = (message: string) => options.log(`http: ${message}`);
  const missing = nodeBenchProblems(['runc', 'umoci', 'ip', 'nsenter']);
  if (missing.length) throw new Error(`bench:network http cannot run: ${missing.join('; ')}`);
  const { code, lines } = await runInsideTestHost({
    prefix: 'skbn-',
    script: join(repoRoot, 'bench/network/http-run.ts'),
    dataDir: (host) => join(host.tempDir, 'node'),
    env: (host) => ({ BENCH_HTTP_HOST_DIR: host.tempDir, BENCH_HTTP_NODE_IP: host.nodeIp }),
    stdout: 'lines',
    log,
  });
  if (code !== 0) throw new Error(`bench:network http: the run inside the test host failed (exit ${code})`);
  return lines.filter((line) => line.trim()).map((line) => JSON.parse(line) as object);
}
