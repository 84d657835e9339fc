// A stand-in for a node's resolver, run as its own process inside a test
// host (so it can take 127.0.0.1:53 of that netns only):
//   node test/support/fake-dns-upstream.ts HOST PORT ADDRESS
// answers every A question over UDP with ADDRESS (TTL 60), NXDOMAIN for
// other types, prints `ready` once bound and `question NAME TYPE` per query.
import { createSocket } from 'node:dgram';
import dnsPacket from 'dns-packet';

const [host = '127.0.0.1', port = '53', address = '192.0.2.99'] = process.argv.slice(2);
const socket = createSocket('udp4');
socket.on('message', (raw, remote) => {
  let request;
  try {
    request = dnsPacket.decode(raw);
  } catch {
    return;
  }
  const question = request.questions?.[0];
  if (!question) return;
  console.log(`question ${question.name} ${question.type}`);
  const isA = question.type === 'A';
  const reply = dnsPacket.encode({
    type: 'response', id: request.id, flags: dnsPacket.RECURSION_AVAILABLE | (isA ? 0 : 3), questions: request.questions,
    answers: isA ? [{ name: question.name, type: 'A', ttl: 60, data: address }] : [],
  });
  socket.send(reply, remote.port, remote.address);
});
socket.bind(Number(port), host, () => console.log('ready'));
process.on('SIGTERM', () => socket.close(() => process.exit(0)));
