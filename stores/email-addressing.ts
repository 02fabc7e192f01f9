/** What every kind of email of one person carries, read from its delivery row (`notifications`). */

/** Whom one person's email goes to, and of which environment and account: what every kind's email carries. */
export interface EmailAddressing {
  deliveryId: number;
  /** Its id for receivers (in its Message-ID): none for an email planned before such ids. */
  publicId: string | null;
  userId: number;
  recipient: string;
  environment: { id: string; name: string; production: boolean };
  account: { name: string };
}

/** The {@link EmailAddressing} of a delivery row read with its environment (`environment_id`, `environment_name`, `production`) and account (`account_name`). */
export function addressingOfRow(row: Record<string, unknown>): EmailAddressing {
  return {
    deliveryId: Number(row.id),
    publicId: (row.public_id as string | null) ?? null,
    userId: Number(row.user_id),
    recipient: row.recipient as string,
    environment: { id: row.environment_id as string, name: row.environment_name as string, production: row.production as boolean },
    account: { name: row.account_name as string },
  };
}
