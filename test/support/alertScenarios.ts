/**
 * The alert scenarios of the monitoring suites: what the webhook receiver got, each fault measured
 * from its end to its notification and from its repair to the resolution, and the suite's
 * `alerts: …` line (`npm run bench -- alerts` sums the suites' lines).
 */
import type { Notification } from "./webhookReceiver";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface AlertReport {
  scenarios: number;
  detected: number;
  resolved: number;
  /** Seconds from a fault's end to its notification, the longest. */
  maxDetect: number;
  duplicates: number;
  falseAlarms: number;
}

export class AlertScenarios {
  readonly report: AlertReport = { scenarios: 0, detected: 0, resolved: 0, maxDetect: 0, duplicates: 0, falseAlarms: 0 };

  /** `received`: the receiver's notifications, in arrival order. */
  constructor(
    private readonly received: () => Notification[],
    private readonly log: (line: string) => void,
  ) {}

  /** The first notification at or after `since` in which `alertname` has `status`; waits at most `withinMs`. */
  async notified(alertname: string, status: "firing" | "resolved", since: number, withinMs: number): Promise<Notification | undefined> {
    const deadline = Date.now() + withinMs;
    for (;;) {
      const n = this.received().find((r) => r.at >= since && r.alerts.some((a) => a.labels.alertname === alertname && a.status === status));
      if (n || Date.now() > deadline) return n;
      await sleep(500);
    }
  }

  /**
   * A fault, the alert it must raise, the repair: detection is measured from the fault's end (a crash
   * loop's third crash, a backup's failed run), resolution from the repair's end; firing notifications
   * of the alert beyond the first are duplicates.
   */
  async scenario(name: string, alertname: string, fault: () => unknown, repair: () => unknown, whileFiring?: () => Promise<void>): Promise<void> {
    const report = this.report;
    report.scenarios++;
    await fault();
    const start = Date.now();
    const fired = await this.notified(alertname, "firing", start, 180_000);
    expect([name, fired ? "notified" : "not notified"]).toEqual([name, "notified"]);
    const detect = (fired!.at - start) / 1000;
    report.detected++;
    report.maxDetect = Math.max(report.maxDetect, detect);
    await whileFiring?.();
    // A repair that is itself an update resolves during it: the resolution is looked for from its start.
    const repairing = Date.now();
    await repair();
    const repaired = Date.now();
    const resolved = await this.notified(alertname, "resolved", repairing, 240_000);
    expect([name, resolved ? "resolved" : "not resolved"]).toEqual([name, "resolved"]);
    report.resolved++;
    const firings = this.received().filter((r) => r.at >= start && r.status === "firing" && r.alerts.some((a) => a.labels.alertname === alertname));
    report.duplicates += firings.length - 1;
    this.log(`${name}: ${alertname} notified after ${detect.toFixed(1)} s, resolved ${((resolved!.at - repaired) / 1000).toFixed(1)} s after the repair's end`);
  }

  /** The alert names of every firing notification since `since`: each one a false alarm, counted. */
  falseAlarms(since: number): string[][] {
    const alarms = this.received().filter((r) => r.at >= since && r.status === "firing");
    this.report.falseAlarms += alarms.length;
    return alarms.map((r) => r.alerts.map((a) => a.labels.alertname));
  }

  /** `alerts: scenarios=… detected=… resolved=… max_detect_s=… duplicates=… false_alarms=…` */
  line(): string {
    const r = this.report;
    return `alerts: scenarios=${r.scenarios} detected=${r.detected} resolved=${r.resolved} max_detect_s=${r.maxDetect.toFixed(1)} duplicates=${r.duplicates} false_alarms=${r.falseAlarms}`;
  }
}
