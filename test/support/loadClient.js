// The request loop's client side, in plain JavaScript so it can run in a worker thread of its own
// (test/support/loadLoop.ts starts it): a test that blocks its own event loop (a synchronous
// `docker` call, the program's modules loaded again for the next deploy) must not turn answers
// that arrived in time into "no answer within N ms". Types: loadClient.d.ts.
"use strict";
const http = require("node:http");
const https = require("node:https");
const { setTimeout: sleep } = require("node:timers/promises");
const { isMainThread, parentPort, workerData } = require("node:worker_threads");

/**
 * One GET on its own connection (no keep-alive); an `https` URL is checked against `ca` (PEM) when
 * given, else against the system's CAs, and against `servername` (sent as SNI) when given.
 */
function get(url, opts = {}) {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const client = url.startsWith("https:") ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(
      url,
      { agent: false, ca: opts.ca, servername: opts.servername, headers: { Connection: "close", ...opts.headers }, timeout: timeoutMs },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: body.trim() }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
  });
}

/**
 * `clients` loops of GET `url` until `isStopping()` and at least `minRequests` were made; `counted`
 * is called after each request with the count so far. Resolves with the LoadResult.
 */
async function runLoad({ url, minRequests, clients = 2, timeoutMs, ca, servername }, isStopping, counted) {
  const started = Date.now();
  const result = {
    requests: 0,
    failed: 0,
    bodies: {},
    statuses: {},
    outageSeconds: 0,
    firstFailAt: 0,
    lastFailAt: 0,
    recoveredAt: 0,
    longestGapSeconds: 0,
    slowestSeconds: 0,
    samples: [],
    seconds: 0,
  };
  let lastOk = 0;
  // A sample says when the failed request ended and how long it took (a timeout of the proxy's, or of the client's, shows as such).
  const fail = (what, sent) => {
    result.failed++;
    const now = Date.now();
    result.firstFailAt ||= now;
    result.lastFailAt = now;
    if (result.samples.length < 5) result.samples.push(`${((now - started) / 1000).toFixed(2)}s: ${what} after ${((now - sent) / 1000).toFixed(2)}s`);
  };
  const client = async () => {
    while (!isStopping() || result.requests < minRequests) {
      const sent = Date.now();
      try {
        const r = await get(url, { timeoutMs, ca, servername });
        result.slowestSeconds = Math.max(result.slowestSeconds, (Date.now() - sent) / 1000);
        if (r.status === 200) {
          result.bodies[r.body] = (result.bodies[r.body] ?? 0) + 1;
          const now = Date.now();
          if (lastOk) result.longestGapSeconds = Math.max(result.longestGapSeconds, (now - lastOk) / 1000);
          lastOk = now;
          if (result.lastFailAt && result.recoveredAt < result.lastFailAt) result.recoveredAt = now;
        } else {
          result.statuses[r.status] = (result.statuses[r.status] ?? 0) + 1;
          fail(`HTTP ${r.status}`, sent);
        }
      } catch (e) {
        fail(e.message, sent);
        await sleep(10);
      }
      result.requests++;
      counted(result.requests);
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  result.outageSeconds = (result.lastFailAt - result.firstFailAt) / 1000;
  result.seconds = (Date.now() - started) / 1000;
  return result;
}

// In a worker: workerData = { url, minRequests, clients, timeoutMs, counter (SharedArrayBuffer) };
// the message "stop" ends the loop; the LoadResult is posted back.
if (!isMainThread && workerData && workerData.loadLoop) {
  let stopping = false;
  parentPort.on("message", (m) => {
    if (m === "stop") stopping = true;
  });
  const counter = new Int32Array(workerData.counter);
  runLoad(
    workerData,
    () => stopping,
    (n) => Atomics.store(counter, 0, n),
  ).then((result) => {
    parentPort.postMessage(result); // the parent ends this worker once it has the result
  });
}

module.exports = { get, runLoad };
