/**
 * alertmanager.yml: one route per stack to the configured receivers, grouped, one notification when
 * an alert fires and one when it resolves, repeated only after the repeat interval; the host being
 * unreachable holds back the per-service alerts. Pure; checked by the real `amtool check-config` in
 * test/monitoring.test.ts. The file carries the receivers' URLs and passwords: the component
 * delivers it as a secret, and Alertmanager shows them masked.
 */
import { stringify } from "yaml";

/** Where the receivers are (config `monitoring.alerts`, the secrets `copilotos:alert*`). */
export interface Receivers {
  webhook?: { url: string };
  slack?: { url: string; channel: string };
  email?: { to: string; from: string; smarthost: string; username?: string; password?: string; requireTls: boolean };
}

export interface AlertRouting {
  stack: string;
  /** How long a new group waits for more alerts before its first notification. */
  groupWaitSeconds: number;
  /** How long a group waits before notifying about alerts new to it, or resolved. */
  groupIntervalSeconds: number;
  /** How long before a notification about a group that still fires is sent again. */
  repeatIntervalSeconds: number;
  receivers: Receivers;
}

/** The receiver every alert of the stack goes to. */
export const STACK_RECEIVER = "stack";

export function alertmanagerConfig(r: AlertRouting): string {
  const rx = r.receivers;
  const receiver: Record<string, unknown> = { name: STACK_RECEIVER };
  if (rx.webhook) receiver.webhook_configs = [{ url: rx.webhook.url, send_resolved: true }];
  if (rx.slack)
    receiver.slack_configs = [
      {
        api_url: rx.slack.url,
        channel: rx.slack.channel,
        send_resolved: true,
        title: "{{ .Status | toUpper }}: {{ .CommonLabels.alertname }} ({{ .CommonLabels.stack }})",
        text: "{{ range .Alerts }}{{ .Annotations.summary }}\nFirst: {{ .Annotations.action }}\n{{ end }}",
      },
    ];
  if (rx.email) {
    const e = rx.email;
    receiver.email_configs = [
      {
        to: e.to,
        from: e.from,
        smarthost: e.smarthost,
        require_tls: e.requireTls,
        send_resolved: true,
        ...(e.username === undefined ? {} : { auth_username: e.username }),
        ...(e.password === undefined ? {} : { auth_password: e.password }),
      },
    ];
  }
  return stringify({
    route: {
      receiver: STACK_RECEIVER,
      group_by: ["alertname", "stack"],
      group_wait: `${r.groupWaitSeconds}s`,
      group_interval: `${r.groupIntervalSeconds}s`,
      repeat_interval: `${r.repeatIntervalSeconds}s`,
    },
    receivers: [receiver],
    inhibit_rules: [{ source_matchers: ['alertname="HostUnreachable"'], target_matchers: ['scope="service"'], equal: ["stack"] }],
  });
}
