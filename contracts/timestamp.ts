/**
 * Times given as text (`occurredAt`): ISO 8601 with a time zone, and a real instant of the
 * calendar that PostgreSQL can store. `2026-02-30`, hour 24 and year 0 are refused (S35).
 */
const isoPattern = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-](\d{2}):?(\d{2}))$/;

export const timestampMessage = 'must be an ISO 8601 date-time with a time zone, e.g. 2026-11-27T10:15:00Z, of a real day (years 0001 to 9999)';

/** True for an ISO 8601 date-time with a zone whose every field is in range. */
export function isIsoTimestamp(value: string): boolean {
  const m = isoPattern.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number) as [
    number, number, number, number, number, number,
  ];
  const daysInMonth = new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeap(year) ? 1 : 0);
  const zoneOk = m[7] === 'Z' || (Number(m[8]) <= 15 && Number(m[9]) <= 59);
  return (
    year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth &&
    hour <= 23 && minute <= 59 && second <= 59 && zoneOk && !Number.isNaN(Date.parse(value))
  );
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}
