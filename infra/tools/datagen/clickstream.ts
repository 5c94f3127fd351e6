import type { ClickstreamEvent, EventType } from "../../platform/contracts/clickstream.ts";
import { random } from "./random.ts";

/**
 * Synthetic clickstream traffic that looks like a shop's: many partners, a
 * pool of users where a few come back often (repeat users), sessions that
 * walk a funnel (land, browse categories, search, add to cart, sometimes
 * remove or wishlist, sometimes buy). Deterministic for a given seed.
 *
 * With `identities` (SPEC §2.7), some sessions start anonymous on one of
 * the user's two devices (its cookie as anonymous_id) and log in midway
 * with an identify event linking the cookie, the device and sometimes a
 * hashed email to the user; a few happen on shared devices (a family
 * computer), whose second user's login breaks the one-user_id limit.
 */

export type ClickstreamOptions = {
  users: number;
  partners: number;
  seed: number;
  runId: string;
  /** Anonymous sessions, logins, second devices and shared devices (default true). */
  identities?: boolean;
};

/** Who a session's events say they are: a logged-in user, or a device's cookie until (maybe) a login. */
type SessionIdentity = {
  loggedIn: boolean;
  anonymousId?: string;
  deviceId?: string;
  /** The step whose event is the identify (login); none: the session stays anonymous. */
  loginAt?: number;
  sharesEmail?: boolean;
};

/** Of the sessions, how many start anonymous; of those, how many log in, and how many are on a shared device. */
export const IDENTITY_MIX = { anonymous: 0.3, login: 0.6, shared: 0.05, sharedDevices: 5, email: 0.3 } as const;

const COUNTRIES = ["DE", "FR", "US", "GB", "ES", "IT", "NL", "PL", "SE", "BR"];
const LANGUAGES: Record<string, string> = {
  DE: "de",
  FR: "fr",
  US: "en",
  GB: "en",
  ES: "es",
  IT: "it",
  NL: "nl",
  PL: "pl",
  SE: "sv",
  BR: "pt",
};
const CATEGORIES = [
  "shoes",
  "bags",
  "dresses",
  "shirts",
  "watches",
  "toys",
  "books",
  "garden",
  "kitchen",
  "sports",
  "beauty",
  "games",
];
const AGENTS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
];
const REFERRERS = ["https://www.google.com/", "https://www.instagram.com/", "https://newsletter.example.com/", null];

type Session = {
  user: number;
  id: string;
  step: number;
  length: number;
  category: string;
  carted: number;
  identity: SessionIdentity;
};

export function clickstreamGenerator(options: ClickstreamOptions) {
  const rand = random(options.seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(rand() * list.length)]!;
  // Squaring skews towards low ids: those users come back much more often.
  const pickUser = () => Math.floor(rand() ** 2 * options.users);
  const open: Session[] = [];
  let sequence = 0;
  let sessions = 0;

  const userAttributes = (user: number) => {
    const country = COUNTRIES[user % COUNTRIES.length]!;
    return {
      partner_id: `${options.runId}-partner-${user % options.partners}`,
      partner_name: `Partner ${user % options.partners}`,
      country,
      language: LANGUAGES[country]!,
      user_agent: AGENTS[user % AGENTS.length]!,
    };
  };

  const userId = (user: number) => `${options.runId}-user-${user}`;
  const emailHash = (user: number) =>
    new Bun.CryptoHasher("sha256").update(`${userId(user)}@example.com`).digest("hex");

  function sessionIdentity(user: number, length: number): SessionIdentity {
    if (options.identities === false || rand() >= IDENTITY_MIX.anonymous) return { loggedIn: true };
    const deviceId =
      rand() < IDENTITY_MIX.shared
        ? `${options.runId}-shared-device-${Math.floor(rand() * IDENTITY_MIX.sharedDevices)}`
        : `${options.runId}-device-${user}-${Math.floor(rand() * 2)}`;
    return {
      loggedIn: false,
      anonymousId: `${deviceId}-cookie`,
      deviceId,
      loginAt: rand() < IDENTITY_MIX.login ? 1 + Math.floor(rand() * (length - 1)) : undefined,
      sharesEmail: rand() < IDENTITY_MIX.email,
    };
  }

  /** The session's identifiers for its next event, and whether that event is its login. */
  function identifiersFor(session: Session) {
    const { identity } = session;
    if (!identity.loggedIn && identity.loginAt === session.step) {
      identity.loggedIn = true;
      return {
        login: true,
        ids: {
          user_id: userId(session.user),
          anonymous_id: identity.anonymousId,
          device_id: identity.deviceId,
          ...(identity.sharesEmail && { email_hash: emailHash(session.user) }),
        },
      };
    }
    return identity.loggedIn
      ? {
          login: false,
          ids: { user_id: userId(session.user), ...(identity.anonymousId && { anonymous_id: identity.anonymousId }) },
        }
      : { login: false, ids: { anonymous_id: identity.anonymousId } };
  }

  function nextType(session: Session): EventType {
    if (session.step === 0) return "session_start";
    const r = rand();
    if (session.carted > 0 && r < 0.12) return "purchase";
    if (session.carted > 0 && r < 0.16) return "remove_from_cart";
    if (r < 0.3) return "add_to_cart";
    if (r < 0.38) return "wishlist";
    if (r < 0.5) return "search";
    return "page_view";
  }

  return {
    get sessions() {
      return sessions;
    },
    /** The next event, stamped `now`. */
    next(now = Date.now()): ClickstreamEvent {
      // Keep ~50 sessions open at once, interleaved like real traffic.
      if (open.length < 50 || rand() < 0.02) {
        const user = pickUser();
        const length = 3 + Math.floor(rand() * 12);
        open.push({
          user,
          id: `${options.runId}-s${sessions++}`,
          step: 0,
          length,
          category: pick(CATEGORIES),
          carted: 0,
          identity: sessionIdentity(user, length),
        });
      }
      const index = Math.floor(rand() * open.length);
      const session = open[index]!;
      const { login, ids } = identifiersFor(session);
      const type = login ? "identify" : nextType(session);
      if (type === "add_to_cart") session.carted++;
      if (type === "purchase" || type === "remove_from_cart") session.carted--;
      if (rand() < 0.25) session.category = pick(CATEGORIES);
      session.step++;
      if (session.step >= session.length) open.splice(index, 1);

      const attributes = userAttributes(session.user);
      return {
        event_id: `${options.runId}-e${sequence++}`,
        type,
        ...ids,
        ...attributes,
        session_id: session.id,
        occurred_at: new Date(now).toISOString(),
        version: "web-4.2",
        referrer: session.step === 1 ? pick(REFERRERS) : null,
        current_url: `https://shop.example.com/${session.category}/${Math.floor(rand() * 5000)}`,
        page_type: type === "search" ? "search" : "product",
        category: [session.category],
        search_query: type === "search" ? `${session.category} sale` : null,
        cart_amount: type === "purchase" || type === "add_to_cart" ? Math.round(rand() * 20000) / 100 : null,
      };
    },
  };
}
