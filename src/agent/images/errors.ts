// Failures the agent writes into a container's `state.waiting` (reason,
// message) and into a `Failed` event, in upstream's words.

/** kubelet's waiting reasons for image trouble. */
export type ImageErrorReason = 'ErrImagePull' | 'ImagePullBackOff' | 'ErrImageNeverPull' | 'InvalidImageName';

export class ImagePullError extends Error {
  override name = 'ImagePullError';
  readonly reason: ImageErrorReason;
  /** The image as written in the pod spec. */
  readonly image: string;

  constructor(options: { reason: ImageErrorReason; image: string; message: string; cause?: unknown }) {
    super(options.message, { cause: options.cause });
    this.reason = options.reason;
    this.image = options.image;
  }

  /** The `Failed` event's message: `Failed to pull image "busybox:nope": …`. */
  get eventMessage(): string {
    if (this.reason === 'ErrImagePull') return `Failed to pull image "${this.image}": ${this.message}`;
    return this.message;
  }
}

/** containerd's wording: `failed to pull and unpack image "docker.io/library/x:1": <cause>`. */
export function pullFailed(options: { image: string; reference: string; cause: unknown }): ImagePullError {
  const detail = options.cause instanceof Error ? options.cause.message : String(options.cause);
  return new ImagePullError({ reason: 'ErrImagePull', image: options.image, message: `failed to pull and unpack image "${options.reference}": ${detail}`, cause: options.cause });
}

export function neverPull(image: string): ImagePullError {
  return new ImagePullError({ reason: 'ErrImageNeverPull', image, message: `Container image "${image}" is not present with pull policy of Never` });
}

export function invalidImageName(options: { image: string; cause: unknown }): ImagePullError {
  const detail = options.cause instanceof Error ? options.cause.message : String(options.cause);
  return new ImagePullError({ reason: 'InvalidImageName', image: options.image, message: `Failed to apply default image tag "${options.image}": ${detail}`, cause: options.cause });
}
