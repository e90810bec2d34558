/** `copilotos:monitoring`: Prometheus, Alertmanager and the exporters beside the stack, and where alerts go. Parsed by the schema in index.ts. */
import { z } from "zod";
import { AlertKey, NOT_READ } from "./keys";
import { bool, integer, jsonList, text } from "./values";

const percent = (what: string, fallback: number) => integer(1, 99, "a whole percentage from 1 to 99").default(fallback).describe(what);

const check = z.strictObject({
  name: text()
    .regex(/^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$/, { error: "must be lower-case letters, digits and dashes (the alert's check label)" })
    .describe("the check's name"),
  url: text()
    .regex(/^https?:\/\/[^\s@]+$/, {
      error: "must be an http(s) URL without credentials, as the proxy serves it on the stack network (http://proxy:3000/login)",
    })
    .describe("what to fetch"),
  status: integer(100, 599, "an HTTP status from 100 to 599").default(200).describe("the status it must answer"),
  contains: text().max(1024, { error: "must be at most 1024 characters" }).optional().describe("text the body must contain"),
});

export const monitoringSchema = z
  .strictObject({
    enabled: bool()
      .optional()
      .describe(
        "Prometheus, Alertmanager and the blackbox, node and Redis exporters beside the stack, no UI published; unset: on for the `prod` stack, off for others",
      ),
    scrapeIntervalSeconds: integer(5, 300, "a whole number of seconds from 5 to 300").default(15).describe("how often Prometheus reads every target"),
    evaluationIntervalSeconds: integer(5, 300, "a whole number of seconds from 5 to 300").default(15).describe("how often the alert rules are evaluated"),
    retentionDays: integer(1, 3650, "a whole number of days from 1 to 3650").default(15).describe("how long Prometheus keeps its series"),
    thresholds: z
      .strictObject({
        diskFreePercent: percent("HostDiskFull: the file system Docker keeps its data on (volumes, images) has less free space than this", 10),
        memoryAvailablePercent: percent("HostMemoryLow: the host has less memory available than this", 10),
        certificateDays: integer(1, 89, "a whole number of days from 1 to 89")
          .default(14)
          .describe("CertificateExpiring: the served certificate expires within this many days"),
        backupMaxAgeHours: integer(1, 744, "a whole number of hours from 1 to 744")
          .default(26)
          .describe("BackupMissing: no verified backup for this long (with a backup schedule)"),
        redisMemoryPercent: percent("RedisMemoryHigh: Redis uses more of its maxmemory than this", 90),
        restarts: integer(1, 1000, "a whole number from 1 to 1000")
          .default(3)
          .describe("ContainerCrashLooping: this many restarts of one container within `restartWindowMinutes`"),
        restartWindowMinutes: integer(2, 1440, "a whole number of minutes from 2 to 1440")
          .default(15)
          .describe("ContainerCrashLooping: the window the restarts are counted in (the alert resolves this long after the last restart)"),
        proxyErrorPercent: percent(
          "ProxyErrorRate: more of the apps' responses through the proxy than this were 5xx over 5 minutes (with at least 20 requests; probes and the maintenance page not counted)",
          5,
        ),
      })
      .prefault({}),
    checks: z
      .preprocess(jsonList, z.array(check, { error: "must be a list of checks, e.g. [{ name: login, url: http://proxy:3000/login, contains: Sign in }]" }))
      .default([])
      .describe("pages the health endpoints do not cover, fetched through the proxy: `{ name, url, status, contains }`"),
    alerts: z
      .strictObject({
        groupWaitSeconds: integer(0, 3600, "a whole number of seconds from 0 to 3600")
          .default(10)
          .describe("how long a new group of alerts waits for more before the first notification"),
        groupIntervalMinutes: integer(1, 1440, "a whole number of minutes from 1 to 1440")
          .default(5)
          .describe("how long before a group's new or resolved alerts are notified"),
        repeatIntervalHours: integer(1, 720, "a whole number of hours from 1 to 720")
          .default(4)
          .describe("how long before a notification about alerts still firing is sent again"),
        slack: z
          .strictObject({
            channel: text()
              .regex(/^[#@]?[A-Za-z0-9._-]{1,80}$/, { error: "must be a channel such as #ops" })
              .describe("the channel"),
          })
          .optional()
          .describe("Slack: the channel; the incoming webhook's URL in the secret `copilotos:alertSlackWebhookUrl`"),
        email: z
          .strictObject({
            to: text()
              .regex(/^[^\s@]+@[^\s@]+$/, { error: "must be an email address" })
              .describe("where alerts go"),
            from: text()
              .regex(/^[^\s@]+@[^\s@]+$/, { error: "must be an email address" })
              .describe("the sender"),
            smarthost: text()
              .regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, { error: "must be host:port, e.g. smtp.example.com:587" })
              .describe("the SMTP server, host:port"),
            username: text().optional().describe("the SMTP login; its password in the secret `copilotos:alertSmtpPassword`"),
            requireTls: bool().default(true).describe("refuse to send without STARTTLS"),
          })
          .optional()
          .describe("email through an SMTP server"),
      })
      .prefault({})
      .describe("where alerts go: a webhook (`copilotos:alertWebhookUrl`, a secret), Slack, email"),
  })
  .prefault({});

export type MonitoringSettings = z.output<typeof monitoringSchema>;

/** Monitoring runs when config says so, and by default on the `prod` stack only. */
export const monitoringEnabled = (m: MonitoringSettings, stack: string): boolean => m.enabled ?? stack === "prod";

/** The receivers' settings that lack their secret, or a secret without its settings: each names the key and the fix ({@link NOT_READ}: set, not read by this command). */
export function alertReceiverIssues(m: MonitoringSettings, keys: Partial<Record<AlertKey, string>>): { path: string[]; message: string }[] {
  const issues: { path: string[]; message: string }[] = [];
  if (m.alerts.slack && keys.alertSlackWebhookUrl === undefined)
    issues.push({
      path: ["alertSlackWebhookUrl"],
      message: "is required with monitoring.alerts.slack: pulumi config set --secret copilotos:alertSlackWebhookUrl <incoming webhook URL>",
    });
  if (keys.alertSlackWebhookUrl !== undefined && keys.alertSlackWebhookUrl !== NOT_READ && !m.alerts.slack)
    issues.push({
      path: ["monitoring", "alerts", "slack"],
      message: "is required with copilotos:alertSlackWebhookUrl: it names the channel ({ channel: '#ops' })",
    });
  if (m.alerts.email?.username !== undefined && keys.alertSmtpPassword === undefined)
    issues.push({
      path: ["alertSmtpPassword"],
      message: "is required with monitoring.alerts.email.username: pulumi config set --secret copilotos:alertSmtpPassword <password>",
    });
  for (const key of ["alertWebhookUrl", "alertSlackWebhookUrl"] as const) {
    const url = keys[key];
    if (url !== undefined && url !== NOT_READ && !/^https?:\/\/\S+$/.test(url)) issues.push({ path: [key], message: "must be an http(s) URL" });
  }
  return issues;
}
