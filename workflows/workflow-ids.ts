/** Business-keyed workflow ids: each reads as what it is, and repeats are recognised by it. */

export const errorReportWorkflowId = (environment: string, flow: string, reportId: string) =>
  `errors/${environment}/${flow}/${reportId}`;

export const retryWindowWorkflowId = (environment: string, flow: string, reportId: string) =>
  `retry/${environment}/${flow}/${reportId}`;

export const recordSuccessesWorkflowId = (environment: string, flow: string, reportId: string) =>
  `successes/${environment}/${flow}/${reportId}`;

export const assignErrorsWorkflowId = (environment: string, requestId: string) => `assign/${environment}/${requestId}`;

export const resolveErrorsWorkflowId = (environment: string, requestId: string) => `resolve/${environment}/${requestId}`;

export const environmentDigestWorkflowId = (environment: string) => `digest/${environment}`;

export const connectionStatusWorkflowId = (connection: string) => `connection/${connection}`;
