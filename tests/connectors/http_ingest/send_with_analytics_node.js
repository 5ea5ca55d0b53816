// Sends Segment calls to segflow's http_ingest with Segment's own client library.
//   node send_with_analytics_node.js <node_modules dir> <host> <write key> <calls.json>
// calls.json: [{"call": "track" | "identify" | "page" | "screen" | "group" | "alias",
//               "args": {...}}, ...]; an args.timestamp string is passed on as a Date.
// Exits 0 once every call was delivered (HTTP 200), 1 on any delivery error.
'use strict';
const path = require('path');
const fs = require('fs');

const [modules, host, writeKey, callsFile] = process.argv.slice(2);
const { Analytics } = require(path.join(modules, '@segment/analytics-node'));

const calls = JSON.parse(fs.readFileSync(callsFile, 'utf8'));
// One batch for every call, so the events reach segflow in the order they were made.
const analytics = new Analytics({ writeKey, host, flushAt: calls.length, maxRetries: 5 });
let failures = 0;
analytics.on('error', (err) => {
  failures += 1;
  console.error('delivery error:', err && (err.reason || err.message || err));
});
const statuses = [];
analytics.on('http_response', (r) => statuses.push(r.status));

for (const { call, args } of calls) {
  if (typeof args.timestamp === 'string') args.timestamp = new Date(args.timestamp);
  analytics[call](args);
}
analytics.closeAndFlush({ timeout: 60000 }).then(() => {
  console.log(JSON.stringify({ statuses, failures }));
  process.exit(failures === 0 && statuses.includes(200) ? 0 : 1);
});
