/**
 * What each page's template is given: `page()` takes the model of the page it renders, so a route
 * that leaves out what its template shows, or misspells it, does not compile.
 */
import type { InputProblem } from '../contracts/problems.js';
import type { ErrorStatus } from '../contracts/errors.js';
import type { Person } from '../stores/people-store.js';
import type { RecordedAuditEvent } from '../stores/audit-store.js';
import type { ConnectionPage, EmailLine, ErrorDetail, ErrorGroupRow, ErrorRow, PageEnvironment } from '../stores/page-store.js';

/** What the layout shows around every page. */
interface Frame {
  title: string;
  /** Who is signed in (the layout names them and offers to sign out). */
  person?: Person;
  /** The environment the page is of (the layout links its errors and settings). */
  environment?: PageEnvironment;
  /** Pages of wide tables. */
  wide?: boolean;
}

/** A user of the account, as pages offer them (assignees, whose settings). */
export interface AccountUser {
  id: number;
  email: string;
  name: string | null;
}

/** An integration and its flows, for filters and settings. */
export interface FlowGroup {
  integration: { id: string; name: string };
  flows: { id: string; name: string }[];
}

interface InEnvironment extends Frame {
  person: Person;
  environment: PageEnvironment;
}

import type { EntityView } from '../admin/entities.js';
import type { TrendChart } from './trend-charts.js';
import type { ConnectionDowntime, FlowResolveTime, FlowWeek, GroupWeek } from '../stores/trend-store.js';
import type { NotificationView } from '../stores/channel-store.js';
import type { channelKindChoices } from '../contracts/channel.js';

export interface PageModels {
  home: Frame & { person: Person; environments: PageEnvironment[]; mayAudit: boolean };
  /** The account's audit (owners and admins). */
  account: Frame & { person: Person; events: RecordedAuditEvent[]; next?: string };
  /** The account's channels (S43; owners and admins), and the one just saved, with a new webhook's secret (shown once). */
  channels: Frame & { person: Person; channels: EntityView[]; made?: { name: string; secret?: string } } & ReturnType<typeof channelKindChoices>;
  /** What was posted to the account's channels (S43). */
  messages: Frame & { person: Person; messages: (NotificationView & { statusText: string; to: string; transportName: string })[]; next?: string };
  errors: InEnvironment & {
    groups: FlowGroup[];
    statuses: { value: ErrorStatus; label: string }[];
    filter: { flow?: string; integration?: string; status?: ErrorStatus; traceKey?: string; group?: string; sinceText: string; untilText: string };
    integrations: { id: string; name: string; selected: boolean }[];
    mine: boolean;
    /** One line per group of similar errors (S42), instead of one per error. */
    grouped: boolean;
    errorGroups: ErrorGroupRow[];
    /** The group the page is filtered to, with its counts. */
    group?: ErrorGroupRow;
    errors: ErrorRow[];
    /** The next page's address, when there is one. */
    next?: string;
    /** This page's address: forms come back to it. */
    here: string;
    /** How many errors the last action resolved or assigned. */
    resolved?: string;
    assigned?: string;
    snoozed?: string;
    canResolve: boolean;
    users: AccountUser[];
  };
  error: InEnvironment & { error: ErrorDetail; record?: string; here: string; canResolve: boolean; users: AccountUser[] };
  connection: InEnvironment & { connection: ConnectionPage };
  /** The environment's trends (S47). */
  overview: InEnvironment & {
    groups: FlowGroup[];
    flow?: string;
    flowName?: string;
    timeZone: string;
    openNow: number;
    openLink: string;
    retryingNow: number;
    retryingLink: string;
    charts: TrendChart[];
    noisiest: (FlowWeek & { change: string; thisWidth: number; lastWidth: number; href: string; overview: string })[];
    noisiestGroups: (GroupWeek & { change: string; href: string })[];
    resolveTimes: (FlowResolveTime & { href: string })[];
    downtime: (ConnectionDowntime & { offline: string; href: string })[];
  };
  emails: Frame & { person: Person; lines: (EmailLine & { statusText: string; kindName: string; quietRun: boolean; why: string })[] };
  settings: InEnvironment & {
    /** Whose settings these are. */
    subject: AccountUser | { id: number; email: string };
    forOther: boolean;
    userQuery: string;
    environments: PageEnvironment[];
    users?: AccountUser[];
    groups: (FlowGroup & { allFlows: boolean; flows: { id: string; name: string; chosen: boolean }[] })[];
    connections: { id: string; name: string; chosen: boolean }[];
    chosenAt: Date | null;
    saved: boolean;
    /** The subject's digest rhythm (S41), as the form shows it. */
    rhythm: {
      every: string;
      at: string;
      timeZone: string;
      described: string;
      quiet: { from: string; to: string; connectionEmails: boolean };
      quietOn: boolean;
      [isEvery: `is_${string}`]: boolean;
    };
    timeZones: string[];
    rhythmSaved: boolean;
    /** The subject's weekly review (S47), as the form shows it. */
    weeklyReview: {
      on: boolean;
      day: string;
      at: string;
      timeZone: string;
      described: string;
      days: { value: string; name: string; chosen: boolean }[];
    };
    weeklySaved: boolean;
    /** Where the subject's subscriptions go (S43), and the account's channels to choose from. */
    target: { email: boolean; channel: string | null };
    channels: { name: string; kind: string; chosen: boolean }[];
    targetSaved: boolean;
  };
  /** A form or query refused: what was wrong, and where to go back to. */
  refused: Frame & { person: Person; problems: InputProblem[]; back: string };
  'not-found': Frame & { person: Person };
  /** A form whose CSRF token expired or was not there. */
  forbidden: Frame;
  'sign-in': Frame & { next: string };
  'sign-in-sent': Frame & { email: string; next: string };
  /** Who the link signs in; the layout shows nobody signed in, as nobody is yet. */
  'sign-in-confirm': Frame & { signingIn: Person; token: string };
  'sign-in-invalid': Frame;
  unsubscribe: Frame & { email: string; what: string; token: string; environmentId: string; done?: boolean; ended?: boolean };
  'unsubscribe-invalid': Frame;
  /** A link of an email (S45): what it will do and its button (`ask`), what it did, or why it does nothing. */
  act: Frame & {
    state: 'ask' | 'done' | 'already' | 'refused';
    heading: string;
    message: string;
    /** For a group's action: a real message of the group beside its pattern (S48). */
    example?: string;
    token?: string;
    errorUrl?: string;
  };
  /** An error page of the server itself (error-handler.ts). */
  problem: Frame & { heading: string; message: string; status: number };
}

export type PageName = keyof PageModels;
