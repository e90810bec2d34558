import * as pulumi from "@pulumi/pulumi";
import { hostCommand } from "../operations/hostCommand";
import type { StackConfig } from "../config";
import { FIREWALL_DIR, firewallConfirmScript, firewallEntries, firewallRemoveScript, firewallTrialScript, FirewallSpec } from "../renderers/hosts/firewall";
import { firewallConfirmDoes, firewallTrialDoes } from "../renderers/operations/stepDescriptions";
import type { DockerHost } from "./dockerHost";

export interface HostFirewallArgs {
  /** An ssh host: the steps run over its pinned SSH connection (each over a connection of its own). */
  host: DockerHost;
  /** Who may reach SSH and the proxy's ports, the nft image, the trial (components/renderers/hosts/firewall.ts). */
  spec: FirewallSpec;
}

/**
 * The host firewall of an ssh host, in two steps over two SSH connections: the trial refuses rules
 * that would not admit the connection it runs over and applies them so that they remove themselves
 * unless confirmed; the confirm step, over a new connection (proof that SSH still gets in), keeps
 * them, and a restarting container applies them at every engine start. Both run again when the
 * rules change (their scripts name them), in place: an old step's removal never runs after a new
 * one. Deleting the component (`host.firewall.enabled: false`, or the stack) takes the stack's
 * rules out; other stacks on the host keep theirs.
 */
export class HostFirewall extends pulumi.ComponentResource {
  /** The confirmed rules: what the proxy's ports wait for. */
  public readonly confirmed: pulumi.Resource;
  /** The stack's entries (`<CIDR> <port>` lines). */
  public readonly entries: string;

  constructor(name: string, args: HostFirewallArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:host:HostFirewall", name, {}, opts);
    const spec = args.spec;
    this.entries = firewallEntries(spec);
    // No triggers: a changed script is an update (run in place), never a replacement whose old removal would run last.
    const trial = hostCommand(
      `${name}-trial`,
      { host: args.host, script: firewallTrialScript(spec), does: firewallTrialDoes(spec), triggers: [] },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.confirmed = hostCommand(
      `${name}-confirm`,
      {
        host: args.host,
        script: firewallConfirmScript(spec),
        // Names the entries: new rules change the script, so the confirmation runs again after each trial.
        does: firewallConfirmDoes(spec, this.entries),
        triggers: [],
        remove: firewallRemoveScript(spec),
      },
      { parent: this, dependsOn: [trial] },
    );
    this.registerOutputs({ entries: this.entries });
  }
}

/** The firewall of an ssh host whose `host.firewall.enabled` is on (the default), after `after`; none for other hosts. */
export function hostFirewallOf(
  parent: pulumi.Resource,
  name: string,
  host: DockerHost,
  cfg: Pick<StackConfig, "host" | "ports" | "tls" | "images">,
  stack: string,
  after: pulumi.Resource[],
): HostFirewall | undefined {
  if (cfg.host.kind !== "ssh" || !cfg.host.firewall.enabled) return undefined;
  const f = cfg.host.firewall;
  const ports = [
    ...new Set([
      cfg.ports.web,
      cfg.ports.api,
      ...(cfg.tls ? [cfg.tls.ports.web, cfg.tls.ports.api] : []),
      ...(cfg.tls?.acme ? [cfg.tls.acme.httpPort] : []),
      ...cfg.host.firewall.extraPorts,
    ]),
  ];
  return new HostFirewall(
    name,
    {
      host,
      spec: {
        stack,
        sshPort: f.sshPort ?? cfg.host.port,
        sshSources: f.sshCidrs,
        ports,
        sources: f.appCidrs,
        image: String(cfg.images.firewall),
        trialSeconds: f.trialSeconds,
        dir: FIREWALL_DIR,
      },
    },
    { parent, dependsOn: after },
  );
}
