/**
 * A webhook receiver written for the tests: Alertmanager posts its notifications here, each kept
 * with the time it arrived. Listens on `address` (loopback, or this machine's end of a test host's link).
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

/** One notification as Alertmanager's webhook sends it, and when it arrived. */
export interface Notification {
  at: number;
  status: "firing" | "resolved";
  alerts: { status: string; labels: Record<string, string> }[];
}

export interface WebhookReceiver {
  /** Where Alertmanager posts (`http://<address>:<port>/hook`). */
  url: string;
  /** Every notification so far, in arrival order (a test may empty it). */
  received: Notification[];
  close(): Promise<void>;
}

/** Starts a receiver on `address` and a port the kernel picks; `onNotification` sees each as it arrives. */
export async function startWebhookReceiver(address: string, onNotification?: (n: Notification) => void): Promise<WebhookReceiver> {
  const received: Notification[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const n = { ...(JSON.parse(body) as Omit<Notification, "at">), at: Date.now() };
      received.push(n);
      onNotification?.(n);
      res.end("ok");
    });
  });
  await new Promise<void>((r) => server.listen(0, address, r));
  return {
    url: `http://${address}:${(server.address() as AddressInfo).port}/hook`,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
