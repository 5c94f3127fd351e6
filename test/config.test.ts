import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../infra/platform/config.ts";
import { runCommand } from "./helpers.ts";

describe("config", () => {
  test("defaults point at the local stack", () => {
    const config = loadConfig({});
    expect(config.KAFKA_BROKERS).toEqual(["127.0.0.1:9092"]);
    expect(config.DATABASE_URL).toBe("postgres://postgres@127.0.0.1:5432/cdp");
    expect(config.REDIS_URL).toBe("redis://127.0.0.1:6379/0");
    expect(config.OPENSEARCH_URL).toBe("http://127.0.0.1:9200");
    expect(config.PORT).toBe(8080);
    expect(config.TOPIC_PARTITIONS).toBe(12);
  });

  test("values are parsed into their types", () => {
    const config = loadConfig({ KAFKA_BROKERS: "a:1,b:2", PORT: "9000", TOPIC_PARTITIONS: "24", LOG_LEVEL: "debug" });
    expect(config.KAFKA_BROKERS).toEqual(["a:1", "b:2"]);
    expect(config.PORT).toBe(9000);
    expect(config.TOPIC_PARTITIONS).toBe(24);
    expect(config.LOG_LEVEL).toBe("debug");
  });

  test.each([
    ["PORT", "abc", "expected an integer from 1 to 65535"],
    ["PORT", "70000", "expected an integer from 1 to 65535"],
    ["TOPIC_PARTITIONS", "0", "expected an integer from 1 to 1000"],
    ["KAFKA_BROKERS", "localhost", "expected host:port"],
    ["DATABASE_URL", "mysql://root@localhost/db", "expected a postgres: or postgresql: URL"],
    ["REDIS_URL", "not a url", "expected a URL"],
    ["OPENSEARCH_URL", "ftp://x", "expected a http: or https: URL"],
    ["LOG_LEVEL", "loud", "expected one of debug, info, warn, error"],
    ["KAFKA_HEAP", "lots", "expected a JVM heap size"],
  ])("a malformed %s=%p is rejected with the variable's name", (name, value, expected) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain(`${name}: ${expected}`);
    expect(message).toContain(JSON.stringify(value));
  });

  test("every problem is reported at once", () => {
    expect(() => loadConfig({ PORT: "x", LOG_LEVEL: "y" })).toThrow(/PORT: .*\n.*LOG_LEVEL: /);
  });

  test("a malformed setting stops start-up with a message naming the variable", async () => {
    for (const entry of [["api/server.ts"], ["infra/tools/stack/cli.ts", "status"], ["workers/main.ts"]]) {
      const run = await runCommand([process.execPath, ...entry], { PORT: "eighty", KAFKA_BROKERS: "nohost" }, 30_000);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain("Invalid configuration");
      expect(run.stderr).toContain('PORT: expected an integer from 1 to 65535 (got "eighty")');
      expect(run.stderr).toContain("KAFKA_BROKERS: expected host:port");
    }
  });
});
