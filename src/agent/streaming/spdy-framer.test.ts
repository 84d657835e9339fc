import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inflateSync } from 'node:zlib';
import { SPDY3_HEADER_DICTIONARY } from './spdy-dictionary.ts';
import {
  decodeHeaderBlock, decodeStreamHeaders, decodeSynStream, decodeWords, encodeDataFrame, encodeGoAway, encodeHeaderBlock, encodePing,
  encodeRstStream, encodeStreamHeaders, encodeSynStream, FLAG_FIN, FRAME_TYPE, FrameReader, HeaderCompressor, HeaderDecompressor,
} from './spdy-framer.ts';

describe('SPDY/3.1 framer', () => {
  it('has the protocol\'s header dictionary (1423 bytes, announced as DICTID e3c6a7c2)', async () => {
    assert.equal(SPDY3_HEADER_DICTIONARY.length, 1423);
    assert.equal(SPDY3_HEADER_DICTIONARY.subarray(0, 11).toString('latin1'), '\0\0\0\x07options');
    assert.ok(SPDY3_HEADER_DICTIONARY.toString('latin1').endsWith('enq=0.'));
    const compressor = new HeaderCompressor();
    const block = await compressor.compress(new Map([['streamtype', ['error']]]));
    compressor.close();
    // zlib header with FDICT set, then the dictionary's Adler-32.
    assert.equal(block[1]! & 0x20, 0x20);
    assert.equal(block.subarray(2, 6).toString('hex'), 'e3c6a7c2');
    // A block ends with a sync flush, so it inflates at once, and only with the dictionary.
    assert.ok(block.subarray(-4).equals(Buffer.from([0, 0, 0xff, 0xff])));
    assert.throws(() => inflateSync(block, { finishFlush: 2 }), /dictionary/i);
    const plain = inflateSync(block, { dictionary: SPDY3_HEADER_DICTIONARY, finishFlush: 2 });
    assert.deepEqual(decodeHeaderBlock(plain), new Map([['streamtype', ['error']]]));
  });

  it('compresses a connection\'s header blocks as one zlib stream', async () => {
    const compressor = new HeaderCompressor();
    const decompressor = new HeaderDecompressor();
    const blocks = [
      new Map([['streamtype', ['stdout']]]),
      new Map([['streamtype', ['stderr']], ['x-multi', ['a', 'b']]]),
      new Map<string, string[]>(),
    ];
    const compressed = [];
    for (const headers of blocks) compressed.push(await compressor.compress(headers));
    // Later blocks refer back to earlier ones: the second carries no zlib header of its own.
    assert.notEqual(compressed[1]![0], 0x78);
    for (const [i, block] of compressed.entries()) assert.deepEqual(await decompressor.decompress(block), blocks[i]);
    // Out of order, the stream state no longer matches.
    const fresh = new HeaderDecompressor();
    await assert.rejects(fresh.decompress(compressed[1]!));
    compressor.close();
    decompressor.close();
    fresh.close();
  });

  it('encodes header blocks with lower-case names and NUL-separated values', () => {
    const block = encodeHeaderBlock(new Map([['StreamType', ['stdin']], ['v', ['1', '2']]]));
    assert.equal(block.toString('latin1'), '\0\0\0\x02\0\0\0\x0astreamtype\0\0\0\x05stdin\0\0\0\x01v\0\0\0\x031\x002');
    assert.deepEqual(decodeHeaderBlock(block), new Map([['streamtype', ['stdin']], ['v', ['1', '2']]]));
    assert.throws(() => decodeHeaderBlock(block.subarray(0, 12)), /truncated/);
  });

  it('round-trips frames, split anywhere in the byte stream', () => {
    const bytes = Buffer.concat([
      encodeSynStream({ streamId: 3, associatedStreamId: 0, priority: 2, flags: FLAG_FIN, headerBlock: Buffer.from('hdr') }),
      encodeStreamHeaders({ type: FRAME_TYPE.synReply, streamId: 3, headerBlock: Buffer.from('r') }),
      encodeDataFrame({ streamId: 5, data: Buffer.from('payload') }),
      encodeDataFrame({ streamId: 5, fin: true }),
      encodeRstStream({ streamId: 7, status: 5 }),
      encodePing(0x80000001),
      encodeGoAway({ lastGoodStreamId: 9, status: 0 }),
    ]);
    assert.equal(bytes.readUInt16BE(0), 0x8003); // control bit, version 3
    const reader = new FrameReader();
    const frames = [];
    for (let i = 0; i < bytes.length; i += 5) frames.push(...reader.push(bytes.subarray(i, i + 5)));
    assert.equal(frames.length, 7);
    const [syn, reply, data, fin, rst, ping, goAway] = frames;
    assert.ok(syn!.control && syn!.type === FRAME_TYPE.synStream && syn!.version === 3);
    assert.deepEqual(decodeSynStream(syn!), { streamId: 3, associatedStreamId: 0, priority: 2, flags: FLAG_FIN, headerBlock: Buffer.from('hdr') });
    assert.ok(reply!.control && reply!.type === FRAME_TYPE.synReply);
    assert.deepEqual(decodeStreamHeaders(reply!), { streamId: 3, headerBlock: Buffer.from('r') });
    assert.deepEqual(data, { control: false, streamId: 5, flags: 0, data: Buffer.from('payload') });
    assert.deepEqual(fin, { control: false, streamId: 5, flags: FLAG_FIN, data: Buffer.alloc(0) });
    assert.ok(rst!.control && rst!.type === FRAME_TYPE.rstStream);
    assert.deepEqual(decodeWords(rst!, 2), [7, 5]);
    assert.ok(ping!.control && ping!.type === FRAME_TYPE.ping);
    assert.deepEqual(decodeWords(ping!, 1), [0x80000001]);
    assert.ok(goAway!.control && goAway!.type === FRAME_TYPE.goAway);
    assert.deepEqual(decodeWords(goAway!, 2), [9, 0]);
    assert.deepEqual(reader.push(Buffer.alloc(0)), []);
  });
});
