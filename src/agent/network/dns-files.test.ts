import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  hostNetworkHostsContent, managedHostsContent, parseResolvConf, podDnsConfig, podHostnameAndDomain,
  resolvConfContent, writePodDnsFiles, type DnsPod,
} from './dns-files.ts';

const pod = (spec: DnsPod['spec'] = {}, name = 'web-0'): DnsPod => ({ metadata: { name, namespace: 'shop', uid: 'u-1' }, spec });
const host = parseResolvConf('# comment\nnameserver 10.0.0.2\nnameserver 10.0.0.3\nsearch corp.example. lab.example\noptions edns0 timeout:2\n');

describe('hosts file', () => {
  it('has the localhost lines, the pod IP with its hostname, and host aliases', () => {
    const text = managedHostsContent({
      podIps: ['10.42.0.5'], hostname: 'web-0', domain: '',
      hostAliases: [{ ip: '10.1.2.3', hostnames: ['foo.remote', 'bar.remote'] }],
    });
    assert.equal(text, '# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n'
      + 'fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n'
      + '10.42.0.5\tweb-0\n\n# Entries added by HostAliases.\n10.1.2.3\tfoo.remote\tbar.remote\n');
  });

  it('names the pod hostname.subdomain.ns.svc.<domain> when it has a subdomain', () => {
    const { hostname, domain } = podHostnameAndDomain({ pod: pod({ hostname: 'db', subdomain: 'backend' }), clusterDomain: 'cluster.local' });
    assert.equal(hostname, 'db');
    assert.equal(domain, 'backend.shop.svc.cluster.local');
    const text = managedHostsContent({ podIps: ['10.42.0.5'], hostname, domain });
    assert.ok(text.endsWith('10.42.0.5\tdb.backend.shop.svc.cluster.local\tdb\n'), text);
    assert.ok(!text.includes('HostAliases'));
  });

  it('uses the pod name, cut to 63 characters without a trailing dash', () => {
    const long = `${'a'.repeat(62)}-bbbb`;
    assert.equal(podHostnameAndDomain({ pod: pod({}, long), clusterDomain: 'cluster.local' }).hostname, 'a'.repeat(62));
  });

  it('hostNetwork pods get the node file plus their aliases', () => {
    const text = hostNetworkHostsContent({ nodeHosts: '127.0.0.1\tlocalhost\n', hostAliases: [{ ip: '1.2.3.4', hostnames: ['x'] }] });
    assert.equal(text, '# Kubernetes-managed hosts file (host network).\n127.0.0.1\tlocalhost\n\n# Entries added by HostAliases.\n1.2.3.4\tx\n');
  });
});

describe('resolv.conf', () => {
  it('parses nameservers (accumulated), search and options (last wins, trailing dots dropped)', () => {
    assert.deepEqual(host, { nameservers: ['10.0.0.2', '10.0.0.3'], searches: ['corp.example', 'lab.example'], options: ['edns0', 'timeout:2'] });
  });

  it('ClusterFirst: the cluster DNS, the namespace searches before the node ones, ndots:5', () => {
    const { config, warnings } = podDnsConfig({ pod: pod({ dnsPolicy: 'ClusterFirst' }), clusterDns: ['10.43.0.10'], clusterDomain: 'cluster.local', hostResolvConf: host });
    assert.deepEqual(warnings, []);
    assert.equal(resolvConfContent(config), 'search shop.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\nnameserver 10.43.0.10\noptions ndots:5\n');
  });

  it('ClusterFirst without a cluster DNS address falls back to Default with a MissingClusterDNS warning', () => {
    const { config, warnings } = podDnsConfig({ pod: pod({}), clusterDns: [], clusterDomain: 'cluster.local', hostResolvConf: host });
    assert.deepEqual(config, host);
    assert.equal(warnings[0].reason, 'MissingClusterDNS');
    assert.match(warnings[0].message, /Falling back to "Default" policy/);
  });

  it('Default, and ClusterFirst on the host network, copy the node resolv.conf; ClusterFirstWithHostNet does not', () => {
    for (const spec of [{ dnsPolicy: 'Default' }, { dnsPolicy: 'ClusterFirst', hostNetwork: true }]) {
      assert.deepEqual(podDnsConfig({ pod: pod(spec), clusterDns: ['10.43.0.10'], clusterDomain: 'cluster.local', hostResolvConf: host }).config, host);
    }
    const withHostNet = podDnsConfig({ pod: pod({ dnsPolicy: 'ClusterFirstWithHostNet', hostNetwork: true }), clusterDns: ['10.43.0.10'], clusterDomain: 'cluster.local', hostResolvConf: host });
    assert.deepEqual(withHostNet.config.nameservers, ['10.43.0.10']);
  });

  it('no node resolv.conf: the node itself as nameserver and no search', () => {
    const { config } = podDnsConfig({ pod: pod({ dnsPolicy: 'Default' }), clusterDns: [], clusterDomain: 'cluster.local', hostResolvConf: undefined, nodeIps: ['192.0.2.10'] });
    assert.deepEqual(config, { nameservers: ['127.0.0.1'], searches: ['.'], options: [] });
  });

  it('None uses only dnsConfig; dnsConfig merges into the others (duplicates dropped, options overridden by name)', () => {
    const none = podDnsConfig({
      pod: pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'], searches: ['a.example'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] } }),
      clusterDns: ['10.43.0.10'], clusterDomain: 'cluster.local', hostResolvConf: host,
    });
    assert.equal(resolvConfContent(none.config), 'search a.example\nnameserver 1.1.1.1\noptions ndots:2 edns0\n');
    const merged = podDnsConfig({
      pod: pod({ dnsConfig: { nameservers: ['10.43.0.10', '9.9.9.9'], searches: ['cluster.local', 'extra.example'], options: [{ name: 'ndots', value: '1' }, { name: 'single-request' }] } }),
      clusterDns: ['10.43.0.10'], clusterDomain: 'cluster.local', hostResolvConf: host,
    });
    assert.deepEqual(merged.config.nameservers, ['10.43.0.10', '9.9.9.9']);
    assert.deepEqual(merged.config.searches, ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.example', 'lab.example', 'extra.example']);
    assert.deepEqual(merged.config.options, ['ndots:1', 'single-request']);
  });

  it('keeps at most 3 nameservers and 32 search paths, warning with DNSConfigForming', () => {
    const many = podDnsConfig({
      pod: pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1', '2.2.2.2', '3.3.3.3', '4.4.4.4'], searches: Array.from({ length: 40 }, (_, i) => `s${i}.example`) } }),
      clusterDns: [], clusterDomain: 'cluster.local', hostResolvConf: host,
    });
    assert.deepEqual(many.config.nameservers, ['1.1.1.1', '2.2.2.2', '3.3.3.3']);
    assert.equal(many.config.searches.length, 32);
    assert.deepEqual(many.warnings.map((w) => w.reason), ['DNSConfigForming', 'DNSConfigForming']);
  });
});

describe('writePodDnsFiles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-dnsfiles-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes etc-hosts and resolv.conf into the pod dir, mode 0644, rewriting in place', async () => {
    const nodeResolv = join(dir, 'node-resolv.conf');
    writeFileSync(nodeResolv, 'nameserver 10.0.0.2\nsearch corp.example\n');
    const podDir = join(dir, 'pods', 'u-1');
    const first = await writePodDnsFiles({ podDir, pod: pod({ hostAliases: [{ ip: '10.9.9.9', hostnames: ['alias'] }] }), podIps: ['10.42.0.7'], clusterDns: ['10.43.0.10'], hostResolvConfPath: nodeResolv });
    assert.equal(first.hostsPath, join(podDir, 'etc-hosts'));
    assert.match(readFileSync(first.hostsPath, 'utf8'), /10\.42\.0\.7\tweb-0\n\n# Entries added by HostAliases\.\n10\.9\.9\.9\talias\n$/);
    assert.equal(readFileSync(first.resolvConfPath, 'utf8'), 'search shop.svc.cluster.local svc.cluster.local cluster.local corp.example\nnameserver 10.43.0.10\noptions ndots:5\n');
    assert.equal(statSync(first.hostsPath).mode & 0o777, 0o644);
    const inode = statSync(first.resolvConfPath).ino;
    await writePodDnsFiles({ podDir, pod: pod({ dnsPolicy: 'Default' }), podIps: ['10.42.0.7'], clusterDns: ['10.43.0.10'], hostResolvConfPath: nodeResolv });
    assert.equal(readFileSync(first.resolvConfPath, 'utf8'), 'search corp.example\nnameserver 10.0.0.2\n');
    assert.equal(statSync(first.resolvConfPath).ino, inode, 'same inode, so bind mounts see the new content');
  });
});
