import type { Knex } from 'knex';
import * as createDomainModel from './20261127000000_create_domain_model.js';
import * as deliveryFlowLists from './20261127100000_delivery_flow_lists.js';
import * as addDeliveryOutcomes from './20261127200000_add_delivery_outcomes.js';
import * as createInstallation from './20261127300000_create_installation.js';
import * as renameBatchToReport from './20261127400000_rename_batch_to_report.js';
import * as createApiTokens from './20261127500000_create_api_tokens.js';
import * as createSignIn from './20261127600000_create_sign_in.js';
import * as createSubscriptionChoices from './20261127700000_create_subscription_choices.js';
import * as indexErrorPages from './20261127800000_index_error_pages.js';
import * as recordEmailsForPeople from './20261127900000_record_emails_for_people.js';
import * as createAssignments from './20261128000000_create_assignments.js';
import * as createReminders from './20261128100000_create_reminders.js';
import * as createSendFences from './20261202000000_create_send_fences.js';
import * as scopeTokensAndAudit from './20261203000000_scope_tokens_and_audit.js';
import * as removableEntities from './20261203100000_removable_entities.js';
import * as indexRetention from './20261204000000_index_retention.js';
import * as digestEnsured from './20261204100000_digest_ensured.js';
import * as errorFingerprints from './20261205000000_error_fingerprints.js';
import * as digestRhythms from './20261206000000_digest_rhythms.js';
import * as createChannels from './20261207000000_create_channels.js';
import * as channelMessageIds from './20261208000000_channel_message_ids.js';
import * as heldNotifications from './20261209000000_held_notifications.js';
import * as channelRhythms from './20261210000000_channel_rhythms.js';
import * as channelKindsInContracts from './20261211000000_channel_kinds_in_contracts.js';
import * as refingerprintQuotedAddresses from './20261212000000_refingerprint_quoted_addresses.js';
import * as digestNews from './20261213000000_digest_news.js';
import * as newsCycleStamps from './20261214000000_news_cycle_stamps.js';
import * as snoozes from './20261215000000_snoozes.js';
import * as emailActions from './20261216000000_email_actions.js';
import * as indexPublicIds from './20261217000000_index_public_ids.js';
import * as errorTrends from './20261218000000_error_trends.js';
import * as weeklyReviews from './20261219000000_weekly_reviews.js';
import * as indexWeeklyReviews from './20261219100000_index_weekly_reviews.js';
import * as oneOutbox from './20261220000000_one_outbox.js';

/**
 * Migrations in the order they apply. Listed here rather than read from the folder, so that
 * the same list works under tsx, vitest and the compiled build.
 */
const migrations: Record<string, Knex.Migration> = {
  '20261127000000_create_domain_model': createDomainModel,
  '20261127100000_delivery_flow_lists': deliveryFlowLists,
  '20261127200000_add_delivery_outcomes': addDeliveryOutcomes,
  '20261127300000_create_installation': createInstallation,
  '20261127400000_rename_batch_to_report': renameBatchToReport,
  '20261127500000_create_api_tokens': createApiTokens,
  '20261127600000_create_sign_in': createSignIn,
  '20261127700000_create_subscription_choices': createSubscriptionChoices,
  '20261127800000_index_error_pages': indexErrorPages,
  '20261127900000_record_emails_for_people': recordEmailsForPeople,
  '20261128000000_create_assignments': createAssignments,
  '20261128100000_create_reminders': createReminders,
  '20261202000000_create_send_fences': createSendFences,
  '20261203000000_scope_tokens_and_audit': scopeTokensAndAudit,
  '20261203100000_removable_entities': removableEntities,
  '20261204000000_index_retention': indexRetention,
  '20261204100000_digest_ensured': digestEnsured,
  '20261205000000_error_fingerprints': errorFingerprints,
  '20261206000000_digest_rhythms': digestRhythms,
  '20261207000000_create_channels': createChannels,
  '20261208000000_channel_message_ids': channelMessageIds,
  '20261209000000_held_notifications': heldNotifications,
  '20261210000000_channel_rhythms': channelRhythms,
  '20261211000000_channel_kinds_in_contracts': channelKindsInContracts,
  '20261212000000_refingerprint_quoted_addresses': refingerprintQuotedAddresses,
  '20261213000000_digest_news': digestNews,
  '20261214000000_news_cycle_stamps': newsCycleStamps,
  '20261215000000_snoozes': snoozes,
  '20261216000000_email_actions': emailActions,
  '20261217000000_index_public_ids': indexPublicIds,
  '20261218000000_error_trends': errorTrends,
  '20261219000000_weekly_reviews': weeklyReviews,
  '20261219100000_index_weekly_reviews': indexWeeklyReviews,
  '20261220000000_one_outbox': oneOutbox,
};

/** A knex migration source over {@link migrations}. */
export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const migration = migrations[name];
    if (!migration) throw new Error(`unknown migration ${name}`);
    return migration;
  },
};
