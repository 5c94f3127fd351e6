import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ROOT, runCommand } from "./helpers.ts";

/** The whole tree is formatted, linted and typechecked, as `bun run check` does; CI runs it with the tests. */
describe("code style", () => {
  test("Biome finds nothing to format or fix on the whole tree", async () => {
    const biome = await runCommand(
      [join(ROOT, "node_modules", ".bin", "biome"), "ci", "--colors=off", "."],
      {},
      120_000,
    );
    expect(biome.stdout + biome.stderr).toMatch(/Checked \d{3,} files/);
    expect({ code: biome.code, output: biome.code === 0 ? "" : biome.stdout + biome.stderr }).toEqual({
      code: 0,
      output: "",
    });
  }, 130_000);

  test("TypeScript, strict, finds no error", async () => {
    const tsc = await runCommand([join(ROOT, "node_modules", ".bin", "tsc"), "--noEmit", "-p", ROOT], {}, 120_000);
    expect({ code: tsc.code, output: tsc.stdout + tsc.stderr }).toEqual({ code: 0, output: "" });
  }, 130_000);
});
