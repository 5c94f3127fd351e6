/**
 * What an API key may do (SPEC §3.8, §4). Every key belongs to one partner;
 * partner-scoped data (clickstream events, profiles) is always limited to
 * that partner, whatever the scopes. Commerce, content and social data carry
 * no partner: they are the operator's own first-party data, and a key reads
 * or writes them only with the scope that names them. Personal data
 * (addresses, IP addresses, emails) is behind `checkouts:read` alone.
 */
export const SCOPES = {
  "events:write": "POST /v1/events, for the key's own partner",
  "profiles:read": "GET /v1/profiles/:id and /v1/search/profiles, the key's own partner's profiles",
  "commerce:write": "POST /v1/clicks and /v1/checkouts",
  "content:write": "POST /v1/beacons and /v1/interactions",
  "checkouts:read": "GET /v1/checkouts/attributed (addresses, IP addresses, payment methods, user emails)",
  "users:read": "GET /v1/users/:id and /v1/search/users",
  "content:read": "GET /v1/content/popular and /v1/users/:id/activity",
  admin: "every scope",
} as const;

export type Scope = keyof typeof SCOPES;

export const ALL_SCOPES = Object.keys(SCOPES) as Scope[];

/** What a key gets when no scopes are named: a partner sending its clickstream and reading its profiles. */
export const DEFAULT_SCOPES: readonly Scope[] = ["events:write", "profiles:read"];

export const isScope = (name: string): name is Scope => name in SCOPES;

export const grants = (scopes: readonly string[], wanted: Scope) => scopes.includes(wanted) || scopes.includes("admin");
