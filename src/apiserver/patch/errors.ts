// The one error type the patch appliers throw. It is an ApiError, so the HTTP
// edge renders it without a mapping table; `code` follows what upstream's PATCH
// handler answers for the same mistake:
//   400 BadRequest   the patch document cannot be read as that patch type
//                    (not a JSON array / object, malformed directive keys);
//   413              a JSON patch with more than 10000 operations;
//   422 Invalid      a well-formed patch that cannot be applied (a failing
//                    `test`, a missing path); upstream words the Status message
//                    generically and puts the real problem in details.causes;
//   500              strategic-merge mistakes upstream reports as plain errors
//                    (a list item without its merge key, an unknown `$patch`
//                    value): "Error from server: map: … does not contain …".
import { ApiError } from '../errors.ts';

export type PatchErrorCode = 400 | 413 | 422 | 500;

const REASONS: Record<PatchErrorCode, string> = {
  400: 'BadRequest',
  413: 'RequestEntityTooLarge',
  422: 'Invalid',
  // Upstream turns a non-Status error into a Status with an empty reason.
  500: '',
};

export class PatchError extends ApiError {
  declare readonly code: PatchErrorCode;

  /** `message` is the specific problem; toStatus() words it as upstream does. */
  constructor(options: { code: PatchErrorCode; message: string }) {
    super({
      code: options.code,
      reason: REASONS[options.code],
      message: options.message,
      details: options.code === 422 ? { causes: [{ message: options.message }] } : undefined,
    });
    this.name = 'PatchError';
  }

  override toStatus(): Record<string, unknown> {
    const status = super.toStatus();
    if (this.code === 422) status.message = 'the server rejected our request due to an error in our request';
    if (this.code === 413) status.message = `Request entity too large: ${this.message}`;
    if (!this.reason) delete status.reason;
    return status;
  }
}

export const badRequest = (message: string) => new PatchError({ code: 400, message });
export const unprocessable = (message: string) => new PatchError({ code: 422, message });
export const internal = (message: string) => new PatchError({ code: 500, message });
