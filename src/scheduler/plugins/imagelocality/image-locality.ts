// ImageLocality: prefer nodes that already hold the pod's images, weighting
// each image by its size and by how widely it has spread (an image present
// everywhere says nothing about a node, and favouring it would pile pods onto
// the first nodes that pulled it). Scores depend on the node set, which the
// score cache learns from scoreReads.
import type { CycleState } from '../../framework/cycle-state.ts';
import { MAX_NODE_SCORE, type Handle, type Reads, type ScorePlugin } from '../../framework/interface.ts';
import { normalizedImageName, type ImageState, type NodeInfo } from '../../framework/node-info.ts';
import type { PodInfo } from '../../framework/pod-info.ts';
import { names } from '../names.ts';

const MB = 1024 * 1024;
/** Bounds of the image score: 90% of images on Docker Hub fall in this range. */
export const MIN_THRESHOLD = 23 * MB;
export const MAX_CONTAINER_THRESHOLD = 1000 * MB;

const imageNames = new WeakMap<PodInfo, string[]>();

function podImages(pod: PodInfo): string[] {
  let list = imageNames.get(pod);
  if (!list) {
    const spec = pod.pod.spec ?? {};
    list = [...(spec.initContainers ?? []), ...(spec.containers ?? [])].map((c) => normalizedImageName(c.image ?? ''));
    imageNames.set(pod, list);
  }
  return list;
}

/** The image's size scaled by the share of nodes that have it. */
export const scaledImageScore = (state: ImageState, totalNumNodes: number): number =>
  Math.trunc(state.size * (state.nodes.size / totalNumNodes));

/** Maps the summed image scores onto 0..MAX_NODE_SCORE between the thresholds. */
export function calculatePriority(sumScores: number, numContainers: number): number {
  const maxThreshold = MAX_CONTAINER_THRESHOLD * numContainers;
  const s = Math.min(Math.max(sumScores, MIN_THRESHOLD), maxThreshold);
  return Math.trunc((MAX_NODE_SCORE * (s - MIN_THRESHOLD)) / (maxThreshold - MIN_THRESHOLD));
}

export class ImageLocality implements ScorePlugin {
  readonly name = names.ImageLocality;
  readonly scoreReads: Reads = { nodeSet: true };
  readonly #handle: Handle;

  constructor(handle: Handle) {
    this.#handle = handle;
  }

  score(_state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): number {
    const images = podImages(pod);
    if (images.length === 0) return 0;
    const total = this.#handle.snapshot().nodes.length;
    let sum = 0;
    for (const image of images) {
      const st = nodeInfo.imageStates.get(image);
      if (st) sum += scaledImageScore(st, total);
    }
    return calculatePriority(sum, images.length);
  }
}

export const newImageLocality = (_args: unknown, handle: Handle) => new ImageLocality(handle);
