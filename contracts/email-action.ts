/** What a link of an email acts on (S45): the recipient, the action, one error or its group, and the email. */
export const emailActions = ['resolve', 'snooze', 'assign'] as const;
export type EmailAction = (typeof emailActions)[number];
/** One error, or the group of one (its flow's errors of the same fingerprint, S42). */
export type ActionTarget = 'error' | 'group';

export interface EmailActionLink {
  /** The recipient. */
  userId: number;
  /** The email: its delivery's public id. */
  emailId: string;
  action: EmailAction;
  target: ActionTarget;
  errorId: number;
}

