import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import Redis from "ioredis";
import { startOpenSearch } from "../infra/tools/stack/opensearch.ts";
import { runtimePath } from "../infra/tools/stack/paths.ts";
import { stopByPid } from "../infra/tools/stack/proc.ts";
import { type RedisCluster, startRedisCluster, stopRedisCluster } from "../infra/tools/stack/redis.ts";
import { ROOT, testConfig, unique } from "./helpers.ts";

/**
 * A Redis Cluster and a 2-node OpenSearch of their own (what
 * `REDIS_CLUSTER=true OPENSEARCH_NODES=2 bun run stack up` runs, at other
 * ports), and the profile and user-info end-to-end tests run again,
 * unchanged, against them: every commit script touches one slot (keys
 * hash-tagged by partition), nothing needs SELECT, and the indices get a
 * replica on the second node.
 */
const config = testConfig();
const run = unique("clusters");
const redisCluster: RedisCluster = { label: `redis-${run}`, port: 21_000 + 10 * Math.floor(Math.random() * 200) };
const search = { label: `opensearch-${run}`, url: `http://127.0.0.1:${9250 + 2 * Math.floor(Math.random() * 20)}` };
afterAll(async () => {
  await stopRedisCluster(redisCluster, "SIGKILL");
  await stopByPid(search.label, 0, "SIGKILL");
  rmSync(runtimePath(`${redisCluster.label}-cluster`), { recursive: true, force: true });
  rmSync(runtimePath(search.label), { recursive: true, force: true });
});

function failureExcerpts(output: string): string {
  const lines = output.split("\n");
  const failures = lines.flatMap((line, at) => (/^\(fail\)|^error:/.test(line) ? [at] : []));
  if (failures.length === 0) return lines.slice(-80).join("\n");
  return failures.map((at) => lines.slice(Math.max(0, at - 30), at + 1).join("\n")).join("\n...\n");
}

describe("store clusters", () => {
  test("the profile and user-info end-to-end tests pass on a 6-node Redis Cluster and a 2-node OpenSearch", async () => {
    await Promise.all([
      startRedisCluster(redisCluster),
      startOpenSearch(config, { ...search, nodes: 2, heap: "768m" }),
    ]);
    const files = ["test/profiles-e2e.test.ts", "test/userinfo-e2e.test.ts"];
    const child = Bun.spawn([process.execPath, "test", "--timeout", "120000", ...files], {
      cwd: ROOT,
      env: {
        ...process.env,
        REDIS_URL: `redis://127.0.0.1:${redisCluster.port}`,
        REDIS_CLUSTER: "true",
        OPENSEARCH_URL: search.url,
      },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stdout, stderr, code] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    // bun test reports on stderr.
    const output = `${stdout}${stderr}`;
    const passed = Number(output.match(/^\s*(\d+) pass$/m)?.[1] ?? 0);
    const failed = Number(output.match(/^\s*(\d+) fail$/m)?.[1] ?? -1);
    // What failed inside, where CI's tail shows it: each failure and the lines before it.
    if (code !== 0) console.error(failureExcerpts(output));
    expect(code).toBe(0);
    expect(failed).toBe(0);
    const declared = files
      .map((file) => readFileSync(join(ROOT, file), "utf8").match(/^\s*test\(/gm)?.length ?? 0)
      .reduce((a, b) => a + b, 0);
    expect(declared).toBeGreaterThan(0);
    expect(passed).toBe(declared);

    const client = new Redis.Cluster([{ host: "127.0.0.1", port: redisCluster.port }]);
    try {
      await new Promise((ready) => client.once("ready", ready));
      const primaries = client.nodes("master");
      expect(primaries).toHaveLength(3);
      const sizes = await Promise.all(primaries.map((node) => node.dbsize()));
      expect(sizes.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
      const indices = ["profiles", "userinfo"].map((name) => `${config.INDEX_PREFIX}${name}`);
      // The last test rebuilds userinfo (a new index), so its replica may still be copying.
      const health = await fetch(
        `${search.url}/_cluster/health/${indices.join(",")}?wait_for_status=green&timeout=60s`,
      );
      expect(((await health.json()) as { status: string }).status).toBe("green");
      // Each index: its primary and a replica, started, on the two nodes.
      const shards = (await (await fetch(`${search.url}/_cat/shards?format=json`)).json()) as {
        index: string;
        prirep: string;
        state: string;
        node: string;
      }[];
      for (const index of indices) {
        const copies = shards.filter((shard) => shard.index === index);
        expect(copies.map((shard) => `${shard.prirep} ${shard.state}`).sort()).toEqual(["p STARTED", "r STARTED"]);
        expect(new Set(copies.map((shard) => shard.node)).size).toBe(2);
      }
      console.log(
        `store clusters: ${passed} end-to-end tests passed; Redis keys per primary ${sizes.join(", ")}; ${indices.join(", ")} each a primary and a replica on 2 nodes`,
      );
    } finally {
      client.disconnect();
    }
  }, 400_000);
});
