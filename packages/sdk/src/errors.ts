/** Every error code the SDK raises, in the style of Fastify's `FST_ERR_*`. */
export type SdkErrorCode =
  | 'TC_ERR_VALIDATION'
  | 'TC_ERR_UNKNOWN_TYPE'
  | 'TC_ERR_TYPE_REGISTERED'
  | 'TC_ERR_PUBLISH_FAILED'
  | 'TC_ERR_PUBLISH_REJECTED'
  | 'TC_ERR_TOKEN_INVALID'
  | 'TC_ERR_OFFSET_EXPIRED'
  | 'TC_ERR_WEBHOOK_SIGNATURE'
  | 'TC_ERR_REQUEST_FAILED'
  | 'TC_ERR_SUBSCRIBE_REFUSED'
  | 'TC_ERR_BAD_OPTIONS';

/** One validation failure: `path` is a JSON Pointer into the checked value (RFC 6901). */
export interface ValidationIssue {
  /** Position of the event in a batch; absent for a single event. */
  index?: number;
  path: string;
  message: string;
}

/** The one error class of the SDK; `code` says what went wrong, `details` carries validator output. */
export class TenantcastError extends Error {
  override readonly name = 'TenantcastError';
  readonly code: SdkErrorCode;
  /** HTTP status, where the error came from a relay response. */
  readonly status: number | undefined;
  readonly details: ValidationIssue[];

  constructor(code: SdkErrorCode, message: string, options: { status?: number; details?: ValidationIssue[]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
    this.details = options.details ?? [];
  }
}

/** Summarizes issues into one line that says what to fix, e.g. `/data/id: must be string`. */
export function describeIssues(issues: readonly ValidationIssue[], max = 3): string {
  const shown = issues.slice(0, max).map((i) => {
    const where = i.index === undefined ? i.path || '/' : `[${i.index}]${i.path}`;
    return `${where}: ${i.message}`;
  });
  const more = issues.length > max ? ` (and ${issues.length - max} more)` : '';
  return shown.join('; ') + more;
}
