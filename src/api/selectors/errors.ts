// The one error type for selector problems. Parsing and validation throw it
// with upstream's wording; the API server turns it into a 400 BadRequest
// Status (selectors arrive as query parameters, so they are the caller's fault).
export class SelectorError extends Error {
  /** HTTP status the API server should answer with. */
  readonly code = 400;
  readonly reason = 'BadRequest';
  constructor(message: string) {
    super(message);
    this.name = 'SelectorError';
  }
}
