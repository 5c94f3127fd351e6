import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { configurationPage, pipelinesPage, readmeWithPipelines } from "../infra/tools/docs.ts";
import { ROOT } from "./helpers.ts";

const read = (path: string) => readFileSync(join(ROOT, path), "utf8");
// This process names topics with the tests' prefix; the pages show the topics' own names.
const unprefixed = (text: string) => text.replace(/\btest\.(?=[a-z_]+\.)/g, "");
const pages = [
  "README.md",
  ...readdirSync(join(ROOT, "docs"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

describe("docs", () => {
  test("the README is short: what it is, the two commands, the pipelines, commands, layout, links", () => {
    const lines = read("README.md").split("\n").length;
    expect(lines).toBeLessThanOrEqual(200);
    expect(read("README.md").split("\n").slice(2, 5).join("\n")).toMatch(/npx bun run start[\s\S]*npx bun run test/);
  });

  test("the generated pages say what the code says (run `bun run docs` after changing the config schema or the topology)", () => {
    expect(read("docs/configuration.md")).toBe(configurationPage());
    expect(read("docs/pipelines.md")).toBe(unprefixed(pipelinesPage()));
    expect(read("README.md")).toBe(unprefixed(readmeWithPipelines(read("README.md"))));
  });

  test("every relative link in the README and docs/ leads to a file of the repository", () => {
    const links = pages.flatMap((page) =>
      [...read(page).matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)]
        .filter(([, target]) => !/^[a-z]+:/.test(target!))
        .map(([, target]) => ({ page, target: target! })),
    );
    expect(links.length).toBeGreaterThan(20);
    expect(
      links
        .filter(({ page, target }) => !existsSync(join(ROOT, dirname(page), target)))
        .map(({ page, target }) => `${page} -> ${target}`),
    ).toEqual([]);
  });

  test("the spec the code cites is in the repository", () => {
    expect(read("docs/spec.md")).toMatch(/§|^#/m);
  });
});
