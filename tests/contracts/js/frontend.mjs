// A small agency frontend written the way an integrator would, with the official NATS client
// for Node (@nats-io/transport-node): it connects as the agency's own NATS user with the
// agency's inbox prefix and submits events by request/reply on intake.<agency_id>.<type>.
//
// Usage: node frontend.mjs PLAN.json
//   PLAN = {"servers": "nats://127.0.0.1:4222", "user": "agency-lanxing", "pass": "...",
//           "inboxPrefix": "_INBOX_lanxing", "requests": [{"subject": ..., "event": {...}}]}
// Prints one JSON line per request: {"subject", "status", "body"} with intake's answer
// (status from the Qianshou-Status header), or {"subject", "refused"} when NATS refused it.
import { readFile } from "node:fs/promises";
import { connect } from "@nats-io/transport-node";

const plan = JSON.parse(await readFile(process.argv[2], "utf8"));
const nc = await connect({
  servers: plan.servers,
  user: plan.user,
  pass: plan.pass,
  inboxPrefix: plan.inboxPrefix,
  name: `frontend ${plan.user}`,
});
for (const { subject, event } of plan.requests) {
  try {
    const reply = await nc.request(subject, JSON.stringify(event), { timeout: 10_000 });
    const status = Number(reply.headers?.get("Qianshou-Status"));
    console.log(JSON.stringify({ subject, status, body: reply.json() }));
  } catch (err) {
    // A publish outside the user's intake.<agency_id>.> is a permissions violation.
    const reason = err?.cause?.message ?? err?.message ?? String(err);
    console.log(JSON.stringify({ subject, refused: `${err?.name}: ${reason}` }));
  }
}
await nc.close();
