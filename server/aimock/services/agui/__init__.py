"""AG-UI agents: runs (`RunAgentInput`) answered as server-sent event streams from fixtures.

The package: `run` (the input, its errors, matching, the service's state), `events` (a
fixture's run as events, and its pacing), `record` (record mode), `service` (the route,
mounting, `SERVICE`).

Wire (the AG-UI HTTP agent's, as `@ag-ui/client`'s `HttpAgent` and the Python `ag_ui` models
speak it):

- `POST {path}` with a JSON `RunAgentInput` (`threadId`, `runId`, `state`, `messages`,
  `tools`, `context`, `forwardedProps`...) answers `200 text/event-stream`, one `data: {json}`
  frame an event: `RUN_STARTED` (the run's threadId and runId), the fixture's events, then
  `RUN_FINISHED`, or `RUN_ERROR` for a failed run. Field names are the protocol's camelCase.
- The default agent is on the section's `path` (`/agui`, AIMock's), named agents on
  `{path}/{name}` or their own `path`; a trailing slash is the same agent.
- A body that is not JSON, nested too deep, or not a `RunAgentInput` (not an object; threadId,
  runId, parentRunId not strings; messages or tools not lists of objects) answers 400
  `{"error": ...}`; over the body limit 413; another HTTP method 405; no agent at the path 404.
  `threadId` and `runId` may be left out (AIMock's tests do): the run gets new ones.
- A run no fixture matches answers 404 `{"error": "No fixture matched ..."}`, or in strict
  mode (server setting or `X-AIMock-Strict: true`) a run that fails: `RUN_STARTED`, then
  `RUN_ERROR` with code `no_fixture_match`, so the frontend under test sees an AG-UI error.
- Events are paced by the shared pacer: the server's latency and streaming profile, a
  fixture's `delayMs` (the wait before each event), `truncateAfterChunks` and
  `disconnectAfterMs` (the connection drops mid-run, as a failing agent's would).
- Chaos (`--chaos-*`, policies, `X-AIMock-Chaos-*` headers, a fixture's `chaos`) is rolled once
  the fixture is known: drop answers 500 `{"error"}`, malformed `RUN_STARTED` then a `data:`
  frame that is not JSON, disconnect drops the connection, truncate sends half the run's
  events and drops it.
- Record mode (an agent's `record`): a run no fixture matches (and not strict) is POSTed to the
  real agent, its answer relayed as it arrives with the upstream's status, and a whole 2xx
  event stream saved in AIMock's recording shape (keyed on the tool call whose result ends the
  conversation, else the last user message), answering the next such run from memory until
  the control API's reset. An unreachable upstream answers 502.

Every run goes into the journal with surface `agui`, its body, and the agent and fixture that
answered (`{"aguiAgent": name, "aguiFixture": index}`, or `aguiRecording` for a recorded run).
"""
