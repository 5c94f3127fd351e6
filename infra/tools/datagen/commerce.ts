import type { UserRow } from "../../../db/users.ts";
import type { Checkout, Click } from "../../platform/contracts/commerce.ts";
import type { OutRecord } from "../../platform/kafka/producer.ts";
import { TOPIC } from "../../platform/topology.ts";
import { random } from "./random.ts";

/** A record to produce, or a user version to write to Postgres `users`. */
export type CommerceItem = { kind: "record"; record: OutRecord } | { kind: "user"; user: UserRow };

type Scheduled = { emitAt: number; seq: number; item: CommerceItem };

/** A binary min-heap on (emitAt, seq): sessions overlap, their events come out in time order. */
function schedule() {
  const heap: Scheduled[] = [];
  const less = (a: Scheduled, b: Scheduled) => a.emitAt < b.emitAt || (a.emitAt === b.emitAt && a.seq < b.seq);
  return {
    get size() {
      return heap.length;
    },
    peek: () => heap[0],
    push(entry: Scheduled) {
      heap.push(entry);
      for (let i = heap.length - 1; i > 0; ) {
        const parent = (i - 1) >> 1;
        if (!less(heap[i]!, heap[parent]!)) break;
        [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
        i = parent;
      }
    },
    pop(): Scheduled | undefined {
      const top = heap[0];
      const last = heap.pop();
      if (heap.length > 0 && last) {
        heap[0] = last;
        for (let i = 0; ; ) {
          const [l, r] = [2 * i + 1, 2 * i + 2];
          let least = i;
          if (l < heap.length && less(heap[l]!, heap[least]!)) least = l;
          if (r < heap.length && less(heap[r]!, heap[least]!)) least = r;
          if (least === i) break;
          [heap[i], heap[least]] = [heap[least]!, heap[i]!];
          i = least;
        }
      }
      return top;
    },
  };
}

export type CommerceOptions = {
  users: number;
  products: number;
  seed: number;
  runId: string;
  /** Event time of the first session (ms). */
  start: number;
  /** Shopping sessions started per second of event time. */
  sessionsPerSecond: number;
};

/**
 * Records per session, on average: what turns an event rate into a session
 * rate (3.14 measured over three hours of event time in steady state).
 */
export const RECORDS_PER_SESSION = 3.1;

/**
 * How long sessions go on emitting: most records come within 20 minutes of
 * the session's start, a few checkouts over an hour later. A generator
 * started at time T reaches its steady rate only this long after T.
 */
export const SESSION_WARMUP_MS = 20 * 60_000;

/**
 * A shop's funnel (SPEC §2.3): a user looks at a product a few times, then
 * often buys it, sometimes more than an hour after the first look, sometimes
 * twice; some buy without a click. A few clicks reach the topic late (most
 * within the lateness allowance, some beyond it), and users sometimes change
 * their name and region (new versions of the `users` row). Items come out in
 * emission order by `advanceTo(time)`; deterministic per seed.
 */
export function commerceGenerator(options: CommerceOptions) {
  const rand = random(options.seed);
  const pickIndex = (n: number) => Math.floor(rand() * n);
  const between = (min: number, max: number) => min + Math.floor(rand() * (max - min));
  const regions = ["eu-west", "eu-north", "us-east", "us-west", "ap-south", "sa-east"];
  const methods = ["card", "paypal", "invoice", "apple_pay"];
  const userId = (i: number) => `${options.runId}-u${i}`;
  const productId = (i: number) => `${options.runId}-p${i}`;
  const versions = new Map<number, number>();
  const pending = schedule();
  let seq = 0;
  let nextSession = options.start;
  let ids = 0;

  const userRow = (i: number, at: number): UserRow => {
    const version = versions.get(i) ?? 0;
    return {
      user_id: userId(i),
      username: `shopper${i}_${options.runId}`.slice(0, 64),
      name: `Shopper ${i} v${version}`,
      email: `shopper${i}@example.com`,
      region: regions[(i + version) % regions.length],
      gender: ["f", "m", "x"][i % 3],
      updated_at: new Date(at),
    };
  };
  const at = (item: CommerceItem, emitAt: number) => pending.push({ emitAt, seq: seq++, item });
  const record = (topic: string, user: string, value: Click | Checkout): CommerceItem => ({
    kind: "record",
    record: { topic, key: user, value },
  });

  function startSession(time: number) {
    const u = pickIndex(options.users);
    const user = userId(u);
    const product = productId(Math.floor(options.products * rand() ** 2));
    if (rand() < 0.02) {
      versions.set(u, (versions.get(u) ?? 0) + 1);
      at({ kind: "user", user: userRow(u, time) }, time);
    }
    let t = time + 1;
    let lastClick = t;
    if (rand() >= 0.1) {
      const clicks = 1 + Math.floor(-Math.log(1 - rand()) * 2.2);
      for (let c = 0; c < clicks; c++) {
        t += c === 0 ? 0 : between(2_000, 180_000);
        lastClick = t;
        const click: Click = {
          click_id: `${options.runId}-c${ids++}`,
          user_id: user,
          product_id: product,
          occurred_at: new Date(t).toISOString(),
          product: `Product ${product}`,
          price: between(100, 20_000) / 100,
          url: `https://shop.example.com/p/${product}`,
        };
        const r = rand();
        const lateBy = r < 0.03 ? between(1_000, 10_000) : r < 0.035 ? between(20_000, 90_000) : 0;
        at(record(TOPIC.clicks, user, click), t + lateBy);
      }
      if (rand() >= 0.55) return;
    }
    const buys = rand() < 0.15 ? 2 : 1;
    let paid = rand() < 0.15 ? lastClick + between(50 * 60_000, 80 * 60_000) : lastClick + between(5_000, 20 * 60_000);
    for (let b = 0; b < buys; b++) {
      paid += b === 0 ? 0 : between(60_000, 40 * 60_000);
      const checkout: Checkout = {
        checkout_id: `${options.runId}-k${ids++}`,
        user_id: user,
        product_id: product,
        total_amount: between(100, 50_000) / 100,
        occurred_at: new Date(paid).toISOString(),
        payment_method: methods[pickIndex(methods.length)],
        shipping_address: `${between(1, 200)} Market Street`,
        billing_address: `${between(1, 200)} Market Street`,
      };
      at(record(TOPIC.checkouts, user, checkout), paid);
    }
  }

  return {
    /** Every user's first version, valid from a day before the start. */
    initialUsers: (): UserRow[] =>
      Array.from({ length: options.users }, (_, i) => userRow(i, options.start - 86_400_000)),

    /** Everything due up to `time` (event time), in emission order. */
    advanceTo(time: number): CommerceItem[] {
      const due: CommerceItem[] = [];
      for (;;) {
        const head = pending.peek();
        if (nextSession <= time && (!head || nextSession <= head.emitAt)) {
          startSession(Math.floor(nextSession));
          // Not rounded to whole milliseconds: at hundreds of sessions a second, rounding up gaps under 1 ms lowered the rate by a seventh.
          nextSession += -Math.log(1 - rand()) * (1000 / options.sessionsPerSecond);
        } else if (head && head.emitAt <= time) {
          due.push(pending.pop()!.item);
        } else {
          return due;
        }
      }
    },

    /** Sessions still to finish (scheduled clicks and checkouts). */
    get scheduled() {
      return pending.size;
    },
  };
}

/**
 * A whole run, for tests and bench: everything due until `checkouts`
 * checkouts were made, with every user's versions (the first ones included)
 * in time order. Sessions still open at the end are left out.
 */
export function commerceRun(options: CommerceOptions & { checkouts: number }): {
  records: OutRecord[];
  versions: UserRow[];
} {
  const generator = commerceGenerator(options);
  const records: OutRecord[] = [];
  const versions = generator.initialUsers();
  let checkouts = 0;
  for (let time = options.start; checkouts < options.checkouts; time += 10_000) {
    for (const item of generator.advanceTo(time)) {
      if (item.kind === "user") versions.push(item.user);
      else {
        records.push(item.record);
        if (item.record.topic === TOPIC.checkouts) checkouts++;
      }
    }
  }
  return { records, versions };
}
