import { drizzle } from "drizzle-orm/postgres-js";
import { parseArgs } from "node:util";
import { createSql } from "../infra/clients.ts";
import { configOrExit } from "../infra/config.ts";
import { createApiKey, listApiKeys, revokeApiKey } from "./keys.ts";

const usage = `usage: bun run apikey create --partner ID   print a new API key for a partner (shown once)
       bun run apikey list                  every key's prefix, partner and state
       bun run apikey revoke PREFIX         revoke the keys starting with PREFIX`;

const { values, positionals } = parseArgs({ args: process.argv.slice(2), options: { partner: { type: "string" } }, allowPositionals: true });
const config = configOrExit();
const sql = createSql(config, 1);
const db = drizzle(sql);
let code = 0;
switch (positionals[0]) {
  case "create": {
    const partner = values.partner?.trim();
    if (!partner || partner.length > 128) {
      console.error("apikey create needs --partner ID (1 to 128 characters)");
      code = 2;
      break;
    }
    const { key } = await createApiKey(db, partner);
    console.log(key);
    console.error(`API key for partner ${partner} (shown once; store it now)`);
    break;
  }
  case "list":
    for (const k of await listApiKeys(db)) console.log(`${k.prefix}...  ${k.partnerId}  created ${k.createdAt.toISOString()}${k.revokedAt ? `  revoked ${k.revokedAt.toISOString()}` : ""}`);
    break;
  case "revoke": {
    const prefix = positionals[1];
    if (!prefix || prefix.length < 8) {
      console.error("apikey revoke needs a key prefix of at least 8 characters (see apikey list)");
      code = 2;
      break;
    }
    console.log(`revoked ${await revokeApiKey(db, prefix)} key(s)`);
    break;
  }
  default:
    console.error(usage);
    code = 2;
}
await sql.end();
process.exit(code);
