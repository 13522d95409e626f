// One AG-UI run through the official JS client (@ag-ui/client's HttpAgent), for
// tests/sdk/test_agui.py: node agui_client.cjs <client module dir> <agent url> <run json>.
// Prints one JSON line: the events the client saw (type and a few fields), the messages and
// state it assembled from them, and the error it raised, if any.
"use strict";
const { HttpAgent } = require(process.argv[2]);

async function main() {
  const run = JSON.parse(process.argv[4]);
  const agent = new HttpAgent({
    url: process.argv[3],
    headers: run.headers || {},
    threadId: run.threadId,
    initialMessages: run.messages || [],
    initialState: run.state || {},
  });
  const seen = [];
  let error = null;
  try {
    await agent.runAgent(
      { runId: run.runId, tools: run.tools || [], context: [] },
      {
        onEvent({ event }) {
          seen.push({ type: event.type, threadId: event.threadId, runId: event.runId });
        },
      },
    );
  } catch (err) {
    error = String((err && err.message) || err);
  }
  process.stdout.write(
    JSON.stringify({ events: seen, messages: agent.messages, state: agent.state, error }) + "\n",
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(String(err) + "\n");
    process.exit(2);
  },
);
