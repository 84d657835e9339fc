import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeFrame, encodeFrame, exitPayload, negotiateProtocol, parseResize } from './channel-protocol.ts';

const v5 = negotiateProtocol(['v5.channel.k8s.io'])!;
const v4 = negotiateProtocol(['v4.channel.k8s.io'])!;
const v3 = negotiateProtocol(['v3.channel.k8s.io'])!;
const b64 = negotiateProtocol(['v4.base64.channel.k8s.io'])!;

describe('channel protocols', () => {
  it('negotiates the newest protocol both sides know', () => {
    assert.equal(negotiateProtocol(['v4.channel.k8s.io', 'v5.channel.k8s.io'])?.name, 'v5.channel.k8s.io');
    assert.equal(negotiateProtocol(['channel.k8s.io', 'v3.channel.k8s.io'])?.name, 'v3.channel.k8s.io');
    assert.equal(negotiateProtocol(['SPDY/3.1+portforward.k8s.io']), undefined);
    assert.equal(negotiateProtocol([]), undefined);
  });

  it('frames data with the channel byte first', () => {
    const frame = encodeFrame(v5, 1, Buffer.from('hi'));
    assert.deepEqual(frame, { data: Buffer.from([1, 0x68, 0x69]), binary: true });
    assert.deepEqual(decodeFrame(v4, Buffer.from([0, 0x61]), true), { kind: 'data', channel: 0, payload: Buffer.from('a') });
    assert.equal(decodeFrame(v4, Buffer.alloc(0), true), undefined);
  });

  it('reads the v5 close signal, and only in v5', () => {
    assert.deepEqual(decodeFrame(v5, Buffer.from([255, 0]), true), { kind: 'close', channel: 0 });
    assert.deepEqual(decodeFrame(v4, Buffer.from([255, 0]), true), { kind: 'data', channel: 255, payload: Buffer.from([0]) });
  });

  it('speaks base64 text frames', () => {
    assert.deepEqual(encodeFrame(b64, 2, Buffer.from('err')), { data: '2ZXJy', binary: false });
    assert.deepEqual(decodeFrame(b64, Buffer.from('0aGk='), false), { kind: 'data', channel: 0, payload: Buffer.from('hi') });
  });

  it('parses terminal sizes, one JSON document per line', () => {
    assert.deepEqual(parseResize(Buffer.from('{"Width":80,"Height":24}\n')), [{ width: 80, height: 24 }]);
    assert.deepEqual(parseResize(Buffer.from('{"Width":100,"Height":30}\n{"Width":120,"Height":40}\n')), [{ width: 100, height: 30 }, { width: 120, height: 40 }]);
    assert.deepEqual(parseResize(Buffer.from('nonsense')), []);
    assert.deepEqual(parseResize(Buffer.from('{"Width":-1,"Height":2}')), []);
  });

  it('reports the exit as a Status with the code as an ExitCode cause (v4+)', () => {
    assert.deepEqual(JSON.parse(exitPayload(v5, { exitCode: 0 })!.toString()), { metadata: {}, status: 'Success' });
    const failure = JSON.parse(exitPayload(v4, { exitCode: 3 })!.toString());
    assert.equal(failure.status, 'Failure');
    assert.equal(failure.reason, 'NonZeroExitCode');
    assert.deepEqual(failure.details.causes, [{ reason: 'ExitCode', message: '3' }]);
    assert.match(failure.message, /non-zero exit code/);
  });

  it('reports the exit as text before v4', () => {
    assert.equal(exitPayload(v3, { exitCode: 0 }), undefined);
    assert.match(exitPayload(v3, { exitCode: 2 })!.toString(), /exit status 2/);
    assert.equal(exitPayload(v3, { error: 'boom' })!.toString(), 'boom');
  });
});
