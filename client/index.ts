/** Herald's client: what flows and operators import. */
export { HeraldClient } from './herald-client.js';
export type { HeraldClientOptions } from './herald-client.js';
export type { ErrorReportRequest, SuccessReport } from '../contracts/error-report.js';
export { HeraldInputError } from './herald-input-error.js';
export { HeraldPlatform, HeraldApiError, HeraldVersionConflict } from './platform-client.js';
export type { HeraldPlatformOptions, Versioned } from './platform-client.js';
export { createTemporalClient, heraldDataConverter, ZlibPayloadCodec } from './payload-codec.js';
export type { ReportedError, InputProblem } from '../contracts/error-report.js';
export { retryableCodes, isRetryableCode, reportLimits } from '../contracts/error-report.js';
export type { ReportReceipt, ReportResult } from '../workflows/error-report.js';
export type { RecordSuccessesResult } from '../workflows/record-successes.js';
export type { RetryWindowOutcome } from '../workflows/retry-window.js';
export type { ErrorStatus, RetryTargetInput } from '../contracts/errors.js';
