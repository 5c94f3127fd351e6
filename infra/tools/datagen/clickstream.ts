import type { ClickstreamEvent, EventType } from "../../platform/contracts/clickstream.ts";
import { random } from "./random.ts";

/**
 * Synthetic clickstream traffic that looks like a shop's: many partners, a
 * pool of users where a few come back often (repeat users), sessions that
 * walk a funnel (land, browse categories, search, add to cart, sometimes
 * remove or wishlist, sometimes buy). Deterministic for a given seed.
 */

export type ClickstreamOptions = { users: number; partners: number; seed: number; runId: string };

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

type Session = { user: number; id: string; step: number; length: number; category: string; carted: number };

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
      user_id: `${options.runId}-user-${user}`,
      partner_id: `${options.runId}-partner-${user % options.partners}`,
      partner_name: `Partner ${user % options.partners}`,
      country,
      language: LANGUAGES[country]!,
      user_agent: AGENTS[user % AGENTS.length]!,
    };
  };

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
        open.push({
          user: pickUser(),
          id: `${options.runId}-s${sessions++}`,
          step: 0,
          length: 3 + Math.floor(rand() * 12),
          category: pick(CATEGORIES),
          carted: 0,
        });
      }
      const index = Math.floor(rand() * open.length);
      const session = open[index]!;
      const type = nextType(session);
      if (type === "add_to_cart") session.carted++;
      if (type === "purchase" || type === "remove_from_cart") session.carted--;
      if (rand() < 0.25) session.category = pick(CATEGORIES);
      session.step++;
      if (session.step >= session.length) open.splice(index, 1);

      const attributes = userAttributes(session.user);
      return {
        event_id: `${options.runId}-e${sequence++}`,
        type,
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
