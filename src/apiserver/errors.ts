// The one error type at the HTTP edge: everything that goes wrong in a request
// becomes an ApiError, rendered as a Kubernetes `Status` with the upstream
// reason and code.

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details?: StatusDetails;
  constructor(options: { code: number; reason: string; message: string; details?: StatusDetails }) {
    super(options.message);
    this.code = options.code;
    this.reason = options.reason;
    this.details = options.details;
  }

  toStatus(): Record<string, unknown> {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

/** "deployments.apps" or "pods": the resource name upstream puts in messages. */
export interface GroupResource {
  group: string;
  resource: string;
}
const qualified = (gr: GroupResource) => (gr.group ? `${gr.resource}.${gr.group}` : gr.resource);

export const errors = {
  notFound(gr: GroupResource, name: string): ApiError {
    return new ApiError({
      code: 404, reason: 'NotFound', message: `${qualified(gr)} "${name}" not found`,
      details: { name, group: gr.group || undefined, kind: gr.resource },
    });
  },
  alreadyExists(gr: GroupResource, name: string): ApiError {
    return new ApiError({
      code: 409, reason: 'AlreadyExists', message: `${qualified(gr)} "${name}" already exists`,
      details: { name, group: gr.group || undefined, kind: gr.resource },
    });
  },
  conflict(gr: GroupResource, name: string, why: string): ApiError {
    return new ApiError({
      code: 409, reason: 'Conflict', message: `Operation cannot be fulfilled on ${qualified(gr)} "${name}": ${why}`,
      details: { name, group: gr.group || undefined, kind: gr.resource },
    });
  },
  /** 422 with field causes; `kind` is the Kind ("Deployment"), as upstream words it. */
  invalid(options: { kind: string; group: string; name: string; causes: StatusCause[] }): ApiError {
    const gk = options.group ? `${options.kind}.${options.group}` : options.kind;
    const list = options.causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message ?? ''));
    const summary = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
    return new ApiError({
      code: 422, reason: 'Invalid', message: `${gk} "${options.name}" is invalid: ${summary}`,
      details: { name: options.name, group: options.group || undefined, kind: options.kind, causes: options.causes },
    });
  },
  badRequest(message: string): ApiError {
    return new ApiError({ code: 400, reason: 'BadRequest', message });
  },
  unauthorized(): ApiError {
    return new ApiError({ code: 401, reason: 'Unauthorized', message: 'Unauthorized' });
  },
  forbidden(gr: GroupResource, name: string, why: string): ApiError {
    const target = name ? `${qualified(gr)} "${name}"` : qualified(gr);
    return new ApiError({
      code: 403, reason: 'Forbidden', message: `${target} is forbidden: ${why}`,
      details: { name: name || undefined, group: gr.group || undefined, kind: gr.resource },
    });
  },
  methodNotAllowed(message = 'the server does not allow this method on the requested resource'): ApiError {
    return new ApiError({ code: 405, reason: 'MethodNotAllowed', message });
  },
  notAcceptable(message: string): ApiError {
    return new ApiError({ code: 406, reason: 'NotAcceptable', message });
  },
  unsupportedMediaType(contentType: string): ApiError {
    return new ApiError({ code: 415, reason: 'UnsupportedMediaType', message: `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got "${contentType}")` });
  },
  gone(message: string): ApiError {
    return new ApiError({ code: 410, reason: 'Expired', message });
  },
  tooLarge(message = 'Request entity too large: limit is 3145728'): ApiError {
    return new ApiError({ code: 413, reason: 'RequestEntityTooLarge', message });
  },
  pageNotFound(path: string): ApiError {
    return new ApiError({ code: 404, reason: 'NotFound', message: `the server could not find the requested resource`, details: { causes: [{ reason: 'UnexpectedServerResponse', message: `404 page not found: ${path}` }] } });
  },
  internal(message: string): ApiError {
    return new ApiError({ code: 500, reason: 'InternalError', message: `Internal error occurred: ${message}` });
  },
  serviceUnavailable(message: string): ApiError {
    return new ApiError({ code: 503, reason: 'ServiceUnavailable', message });
  },
};
