import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CycleState } from '../../framework/cycle-state.ts';
import { PodInfo } from '../../framework/pod-info.ts';
import type { ScorePlugin } from '../../framework/interface.ts';
import { Harness, makePod, scheduleOne } from '../../testing/harness.ts';
import { calculatePriority, MAX_CONTAINER_THRESHOLD, MIN_THRESHOLD } from './image-locality.ts';

const MB = 1024 * 1024;

describe('ImageLocality', () => {
  it('maps summed sizes onto 0..100 between the thresholds', () => {
    assert.equal(calculatePriority(0, 1), 0);
    assert.equal(calculatePriority(MIN_THRESHOLD, 1), 0);
    assert.equal(calculatePriority(MAX_CONTAINER_THRESHOLD, 1), 100);
    assert.equal(calculatePriority(MAX_CONTAINER_THRESHOLD * 5, 1), 100);
    assert.equal(calculatePriority(500 * MB, 1), Math.trunc((100 * (500 * MB - MIN_THRESHOLD)) / (MAX_CONTAINER_THRESHOLD - MIN_THRESHOLD)));
  });

  it('prefers nodes with the image, scaled by how many nodes have it', () => {
    const image = { names: ['docker.io/library/app:1', 'app:1'], sizeBytes: 600 * MB };
    const h = new Harness({ nodes: [{ name: 'a', images: [image] }, { name: 'b' }, { name: 'c' }, { name: 'd', images: [{ names: ['other:latest'], sizeBytes: 900 * MB }] }] });
    h.fw.setSnapshot(h.cache);
    const plugin = h.fw.plugins.get('ImageLocality') as ScorePlugin;
    const pi = new PodInfo(makePod({ name: 'p', image: 'app:1' }));
    const score = (n: string) => plugin.score(new CycleState(), pi, h.cache.get(n)!);
    // 600MB spread over 1 of 4 nodes = 150MB
    assert.equal(score('a'), calculatePriority(150 * MB, 1));
    assert.equal(score('b'), 0);
    assert.equal(h.schedule({ name: 'p', image: 'app:1' }).node, 'a');
  });

  it('matches untagged images as :latest', () => {
    const r = scheduleOne({ nodes: [{ name: 'a' }, { name: 'b', images: [{ names: ['busybox:latest'], sizeBytes: 900 * MB }] }], pod: { name: 'p', image: 'busybox' } });
    assert.deepEqual(r, { node: 'b' });
  });
});
