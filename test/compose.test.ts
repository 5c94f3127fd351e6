import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { loadConfig } from "../infra/platform/config.ts";
import { ROOT } from "./helpers.ts";

/**
 * infra/tools/docker-compose.yml cannot be run here (no Docker engine), so
 * what can be checked without running it is: pinned images, no port clash
 * with each other or with the project's own processes, the servers on the
 * addresses the project's defaults expect, every mounted file present, and
 * Prometheus and Grafana wired to each other and to the dashboard.
 */
const TOOLS = join(ROOT, "infra", "tools");
type Service = {
  image: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  network_mode?: string;
};
const compose = Bun.YAML.parse(readFileSync(join(TOOLS, "docker-compose.yml"), "utf8")) as {
  services: Record<string, Service>;
};
const services = compose.services;
const defaults = loadConfig({});
const portOf = (address: string) => Number(new URL(address.includes("://") ? address : `tcp://${address}`).port);

/** Every port a service listens on for the host: published ports, or its own listener on the host's network. */
function hostPorts(name: string, s: Service): number[] {
  const published = (s.ports ?? []).map((p) => Number(p.split(":").at(-2)));
  if (s.network_mode !== "host") return published;
  const flag = s.command?.find((c) => c.startsWith("--web.listen-address="));
  const port = flag ? portOf(flag.split("=")[1] ?? "") : Number(s.environment?.GF_SERVER_HTTP_PORT);
  expect({ name, port }).toMatchObject({ name, port: expect.any(Number) });
  return [port];
}

describe("docker-compose for machines with Docker", () => {
  test("every image is pinned to a version", () => {
    const images = Object.values(services).map((s) => s.image);
    expect(images.length).toBeGreaterThanOrEqual(7);
    for (const image of images) expect(image).toMatch(/:v?\d+(\.\d+)*$/);
  });

  test("servers sit on the project's default addresses; nothing clashes with each other or the project's processes", () => {
    const serverPort = {
      redpanda: portOf(defaults.KAFKA_BROKERS[0] ?? ""),
      opensearch: portOf(defaults.OPENSEARCH_URL),
      postgres: portOf(defaults.DATABASE_URL),
      redis: portOf(defaults.REDIS_URL),
    };
    for (const [name, port] of Object.entries(serverPort)) {
      expect({ name, ports: hostPorts(name, services[name] as Service) }).toEqual({
        name,
        ports: expect.arrayContaining([port]),
      });
    }
    const own = [defaults.PORT, defaults.WORKER_STATUS_PORT, defaults.EXPORT_METRICS_PORT, portOf(defaults.SMTP_URL)];
    const taken = Object.entries(services).flatMap(([name, s]) => hostPorts(name, s).map((port) => ({ name, port })));
    expect(taken.length).toBeGreaterThanOrEqual(8);
    const seen = new Map<number, string>();
    for (const { name, port } of taken) {
      expect({ name, port, clashesWithProject: own.includes(port), alsoUsedBy: seen.get(port) }).toEqual({
        name,
        port,
        clashesWithProject: false,
        alsoUsedBy: undefined,
      });
      seen.set(port, name);
    }
  });

  test("Redpanda gives the host 127.0.0.1 and the console a name it can reach", () => {
    const command = (services.redpanda?.command ?? []).join(" ");
    const advertised = /--advertise-kafka-addr (\S+)/.exec(command)?.[1]?.split(",") ?? [];
    expect(advertised).toContain(`external://127.0.0.1:${portOf(defaults.KAFKA_BROKERS[0] ?? "")}`);
    expect(advertised).toContain(`internal://${services.console?.environment?.KAFKA_BROKERS}`);
  });

  test("every mounted file exists", () => {
    const mounts = Object.values(services).flatMap((s) =>
      (s.volumes ?? []).map((v) => v.split(":")[0] ?? "").filter((from) => from.startsWith(".")),
    );
    expect(mounts.length).toBeGreaterThanOrEqual(4);
    for (const from of mounts)
      expect({ from, exists: existsSync(resolve(TOOLS, from)) }).toEqual({ from, exists: true });
  });

  test("Prometheus scrapes the project's processes; Grafana reads that Prometheus and loads the dashboard", () => {
    const prometheus = Bun.YAML.parse(readFileSync(join(TOOLS, "prometheus", "prometheus.yml"), "utf8")) as {
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    const targets = Object.fromEntries(
      prometheus.scrape_configs.map((j) => [j.job_name, j.static_configs.flatMap((c) => c.targets.map(portOf))]),
    );
    expect(targets).toEqual({
      api: [defaults.PORT],
      workers: [defaults.WORKER_STATUS_PORT],
      export: [defaults.EXPORT_METRICS_PORT],
    });

    const provisioning = join(TOOLS, "grafana", "provisioning");
    const datasource = (
      Bun.YAML.parse(readFileSync(join(provisioning, "datasources", "prometheus.yml"), "utf8")) as {
        datasources: { uid: string; url: string }[];
      }
    ).datasources[0];
    expect(portOf(datasource?.url ?? "")).toBe(hostPorts("prometheus", services.prometheus as Service)[0] as number);

    const dashboard = readFileSync(join(TOOLS, "grafana", "dashboard.json"), "utf8");
    const uids = [...dashboard.matchAll(/"datasource":\s*\{[^}]*"uid":\s*"([^"]+)"/g)].map((m) => m[1]);
    expect(uids.length).toBeGreaterThan(0);
    expect(new Set(uids)).toEqual(new Set([datasource?.uid]));

    const provider = (
      Bun.YAML.parse(readFileSync(join(provisioning, "dashboards", "cdp.yml"), "utf8")) as {
        providers: { options: { path: string } }[];
      }
    ).providers[0];
    const dashboardMount = services.grafana?.volumes?.find((v) => v.startsWith("./grafana/dashboard.json:"));
    expect(dirname(dashboardMount?.split(":")[1] ?? "")).toBe(provider?.options.path as string);
  });
});
