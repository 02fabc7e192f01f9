/** Business-keyed workflow ids: each reads as what it is, and repeats are recognised by it. */

export const errorBatchWorkflowId = (environment: string, flow: string, batchId: string) =>
  `errors/${environment}/${flow}/${batchId}`;

export const intermittentRetryWorkflowId = (environment: string, flow: string, batchId: string) =>
  `retry/${environment}/${flow}/${batchId}`;

export const recordSuccessesWorkflowId = (environment: string, flow: string, reportId: string) =>
  `successes/${environment}/${flow}/${reportId}`;

export const resolveErrorsWorkflowId = (environment: string, requestId: string) => `resolve/${environment}/${requestId}`;

export const environmentDigestWorkflowId = (environment: string) => `digest/${environment}`;

export const connectionStatusWorkflowId = (connection: string) => `connection/${connection}`;
