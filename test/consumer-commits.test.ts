import { describe, expect, test } from "bun:test";
import { consumerCommits } from "../workers/runtime/consumer-commits.ts";
import type { TopicPartition } from "../workers/runtime/worker.ts";

type Request = (TopicPartition & { offset: string })[];

/** A broker whose OffsetCommit requests answer when the test says. */
function broker() {
  const requests: Request[] = [];
  const answers: { resolve(): void; reject(error: Error): void }[] = [];
  return {
    requests,
    commit: (offsets: Request) => {
      requests.push(offsets);
      return new Promise<void>((resolve, reject) => answers.push({ resolve, reject }));
    },
    answer: async (error?: Error) => {
      const next = answers.shift();
      expect(next).toBeDefined();
      if (error) next!.reject(error);
      else next!.resolve();
      await Bun.sleep(0);
    },
  };
}

const tp = (partition: number) => ({ topic: "clicks", partition });
/** Commits of a worker with no trailing sink: each partition up to what its store committed. */
const storeOnly = (
  kafka: ReturnType<typeof broker>,
  options: { retryMs?: number; failed?(error: unknown): void } = {},
) => consumerCommits({ commit: kafka.commit, upTo: (_, stored) => stored, failed: () => {}, ...options });
const byPartition = (request: Request) => [...request].sort((a, b) => a.partition - b.partition);

describe("consumer commits", () => {
  test("what is stored while a commit is in flight goes in one next request, each partition at its latest offset", async () => {
    const kafka = broker();
    const commits = storeOnly(kafka);
    commits.stored(tp(0), 9n);
    expect(kafka.requests).toEqual([[{ ...tp(0), offset: "10" }]]);
    commits.stored(tp(1), 4n);
    commits.stored(tp(0), 19n);
    commits.stored(tp(2), 7n);
    commits.stored(tp(0), 29n);
    expect(kafka.requests).toHaveLength(1);
    await kafka.answer();
    expect(kafka.requests).toHaveLength(2);
    expect(byPartition(kafka.requests[1]!)).toEqual([
      { ...tp(0), offset: "30" },
      { ...tp(1), offset: "5" },
      { ...tp(2), offset: "8" },
    ]);
    await kafka.answer();
    await commits.settled();
    expect(kafka.requests).toHaveLength(2);
  });

  test("a partition is committed no further than its sinks wrote, and never again at an offset already committed", async () => {
    const kafka = broker();
    const written = new Map<number, bigint | undefined>([[0, undefined]]);
    const commits = consumerCommits({
      commit: kafka.commit,
      upTo: (at, stored) => {
        const sink = written.get(at.partition);
        if (sink === undefined) return undefined;
        if (sink < stored) return sink;
        return stored;
      },
      failed: () => {},
    });
    commits.stored(tp(0), 50n);
    await commits.settled();
    expect(kafka.requests).toEqual([]);
    written.set(0, 20n);
    commits.advanced(tp(0));
    expect(kafka.requests).toEqual([[{ ...tp(0), offset: "21" }]]);
    await kafka.answer();
    // The sink has not moved: nothing new to commit.
    commits.advanced(tp(0));
    await commits.settled();
    expect(kafka.requests).toHaveLength(1);
    written.set(0, 80n);
    commits.advanced(tp(0));
    expect(kafka.requests[1]).toEqual([{ ...tp(0), offset: "51" }]);
    await kafka.answer();
  });

  test("a failed commit is tried again after retryMs with the partition's latest offset", async () => {
    const kafka = broker();
    const failures: unknown[] = [];
    const commits = storeOnly(kafka, { failed: (error) => failures.push(error), retryMs: 20 });
    commits.stored(tp(3), 5n);
    await kafka.answer(new Error("NOT_COORDINATOR"));
    expect(failures).toHaveLength(1);
    commits.stored(tp(3), 6n);
    await kafka.answer();
    expect(kafka.requests[1]).toEqual([{ ...tp(3), offset: "7" }]);
    // The retry comes with 6 committed: it has nothing to send.
    await Bun.sleep(40);
    await commits.settled();
    expect(kafka.requests).toHaveLength(2);

    commits.stored(tp(4), 1n);
    await kafka.answer(new Error("REQUEST_TIMED_OUT"));
    expect(kafka.requests).toHaveLength(3);
    await Bun.sleep(40);
    expect(kafka.requests[3]).toEqual([{ ...tp(4), offset: "2" }]);
    await kafka.answer();
  });

  test("after forget, nothing an older assignment stored is committed, and a commit in flight then counts for nothing", async () => {
    const kafka = broker();
    const commits = storeOnly(kafka, { retryMs: 10 });
    commits.stored(tp(0), 100n);
    commits.stored(tp(1), 100n);
    commits.forget();
    await kafka.answer();
    await commits.settled();
    expect(kafka.requests).toHaveLength(1);
    // The new assignment starts lower (another member had it): its offsets are committed, not held back by 100.
    commits.stored(tp(0), 40n);
    expect(kafka.requests[1]).toEqual([{ ...tp(0), offset: "41" }]);
    await kafka.answer(new Error("REBALANCE_IN_PROGRESS"));
    commits.forget();
    // The failed commit's retry belonged to the forgotten assignment.
    await Bun.sleep(30);
    await commits.settled();
    expect(kafka.requests).toHaveLength(2);
  });

  test("after close, nothing more is sent: not what was due when it came, nor a failed commit's retry, nor a sink's write", async () => {
    const kafka = broker();
    const commits = storeOnly(kafka, { retryMs: 10 });
    commits.stored(tp(0), 3n);
    // Due behind the request in flight when the consumer leaves.
    commits.stored(tp(1), 8n);
    commits.close();
    await kafka.answer(new Error("REQUEST_TIMED_OUT"));
    commits.advanced(tp(0));
    commits.stored(tp(2), 5n);
    await Bun.sleep(30);
    await commits.settled();
    expect(kafka.requests).toEqual([[{ ...tp(0), offset: "4" }]]);
  });
});
