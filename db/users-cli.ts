import { parseArgs } from "node:util";
import { createSql } from "../infra/platform/clients.ts";
import { configOrExit } from "../infra/platform/config.ts";
import { deleteUsers, upsertUsers, userHistory } from "./users.ts";

const usage = `usage: bun run users set USER_ID --username U [--name N] [--email E] [--region R] [--gender G] [--at ISO-TIME]
                                     create or update a user (the version starts at --at, default now)
       bun run users delete USER_ID  delete a user (its history stays)
       bun run users history USER_ID every version of a user, oldest first`;

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  options: {
    username: { type: "string" },
    name: { type: "string" },
    email: { type: "string" },
    region: { type: "string" },
    gender: { type: "string" },
    at: { type: "string" },
  },
  allowPositionals: true,
});
const [command, userId] = positionals;
const fail = (message: string): never => {
  console.error(`${message}\n${usage}`);
  process.exit(2);
};
if (!command || !["set", "delete", "history"].includes(command)) fail("expected set, delete or history");
if (!userId || userId.length > 128) fail("expected a USER_ID of 1 to 128 characters");

const config = configOrExit();
const sql = createSql(config, 1);
try {
  if (command === "set") {
    if (!values.username) fail("users set needs --username");
    const at = values.at === undefined ? undefined : new Date(values.at);
    if (at && Number.isNaN(at.getTime())) fail(`--at: not a time: ${values.at}`);
    await upsertUsers(sql, [
      {
        user_id: userId!,
        username: values.username!,
        name: values.name,
        email: values.email,
        region: values.region,
        gender: values.gender,
        updated_at: at,
      },
    ]);
    console.log(`user ${userId} written`);
  } else if (command === "delete") {
    console.log(`deleted ${await deleteUsers(sql, [userId!])} user(s)`);
  } else {
    for (const version of await userHistory(sql, userId!)) {
      const { valid_from, valid_to, ...fields } = version;
      console.log(`${valid_from.toISOString()} .. ${valid_to?.toISOString() ?? "now"}  ${JSON.stringify(fields)}`);
    }
  }
} catch (error) {
  console.error(`users ${command}: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await sql.end();
}
