/** Who follows which flows, and who wants it by email: the one SQL the digest, reminders, connection changes, assignments, pages and channels (S43) read it from. */

/** The flows each current user follows in one environment (chosen flows, or all flows of an integration): `:environment`. */
export const followedFlowsSql = `
  select s.user_id, f.id as flow_id
    from subscriptions s
    join users u on u.id = s.user_id and u.removed_at is null
    join environments env on env.id = s.environment_id and env.account_id = u.account_id
    join flows f on f.id = s.flow_id
    join integrations i on i.id = f.integration_id and i.resource_group = env.resource_group
   where s.environment_id = :environment
  union
  select s.user_id, f.id as flow_id
    from subscriptions s
    join users u on u.id = s.user_id and u.removed_at is null
    join environments env on env.id = s.environment_id and env.account_id = u.account_id
    join integrations i on i.id = s.integration_id and i.resource_group = env.resource_group
    join flows f on f.integration_id = i.id
   where s.environment_id = :environment`;

/**
 * SQL true when the person `user` wants emails in `environment` (SQL expressions, `:environment`
 * unless said): their subscriptions there do not go to a channel alone (S43).
 */
export const emailWantedSql = (user: string, environment = ':environment') =>
  `not exists (select 1 from subscription_targets t where t.user_id = ${user} and t.environment_id = ${environment} and not t.email)`;
