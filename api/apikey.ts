import { parseArgs } from "node:util";
import { drizzle } from "drizzle-orm/postgres-js";
import { createSql } from "../infra/platform/clients.ts";
import { configOrExit } from "../infra/platform/config.ts";
import { createApiKey, listApiKeys, revokeApiKey } from "./http/keys.ts";
import { ALL_SCOPES, DEFAULT_SCOPES, isScope, SCOPES } from "./http/scopes.ts";

const usage = `usage: bun run apikey create --partner ID [--scopes a,b]   print a new API key (shown once)
       bun run apikey list                                  every key's prefix, partner, scopes and state
       bun run apikey revoke PREFIX                         revoke the key with exactly this prefix (see list)

scopes (default ${DEFAULT_SCOPES.join(",")}):
${Object.entries(SCOPES)
  .map(([scope, what]) => `  ${scope.padEnd(15)} ${what}`)
  .join("\n")}`;

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  options: { partner: { type: "string" }, scopes: { type: "string" } },
  allowPositionals: true,
});
const config = configOrExit();
const sql = createSql(config, 1);
const db = drizzle(sql);
let code = 0;
switch (positionals[0]) {
  case "create": {
    const partner = values.partner?.trim();
    const scopes =
      values.scopes === undefined
        ? [...DEFAULT_SCOPES]
        : values.scopes
            .split(",")
            .map((s) => s.trim())
            .filter((s) => s !== "");
    const unknown = scopes.filter((s) => !isScope(s));
    if (!partner || partner.length > 128) {
      console.error("apikey create needs --partner ID (1 to 128 characters)");
      code = 2;
    } else if (unknown.length > 0 || scopes.length === 0) {
      console.error(
        `apikey create --scopes: ${unknown.length > 0 ? `unknown scope(s) ${unknown.join(", ")}` : "name at least one scope"}; known: ${ALL_SCOPES.join(", ")}`,
      );
      code = 2;
    } else {
      const { key } = await createApiKey(db, partner, scopes.filter(isScope));
      console.log(key);
      console.error(`API key for partner ${partner} with ${scopes.join(", ")} (shown once; store it now)`);
    }
    break;
  }
  case "list":
    for (const k of await listApiKeys(db)) {
      console.log(
        `${k.prefix}...  ${k.partnerId}  ${k.scopes.join(",")}  created ${k.createdAt.toISOString()}${k.revokedAt ? `  revoked ${k.revokedAt.toISOString()}` : ""}`,
      );
    }
    break;
  case "revoke": {
    const prefix = positionals[1]?.replace(/\.\.\.$/, "");
    if (!prefix || !/^cdp_[A-Za-z0-9_-]{8}$/.test(prefix)) {
      console.error("apikey revoke needs a key's prefix exactly as `apikey list` shows it (cdp_ and 8 characters)");
      code = 2;
      break;
    }
    const revoked = await revokeApiKey(db, prefix);
    console.log(`revoked ${revoked} key(s)`);
    if (revoked === 0) code = 1;
    break;
  }
  default:
    console.error(usage);
    code = 2;
}
await sql.end();
process.exit(code);
