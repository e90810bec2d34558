/**
 * The host firewall of an SSH host: an nftables table of its own (`inet copilotos`) whose input and
 * forward chains run just before Docker's (priority filter - 1), so a port a container publishes obeys
 * it too (a published port is DNAT-ed and forwarded: an INPUT rule, ufw's, never sees it). Pure.
 *
 * Every stack on the host adds its own `<stack>.entries` (source range, TCP port) to one folder; the
 * table is the union of all of them, so staging's firewall never closes prod's ports. New inbound
 * connections that no entry allows are dropped; replies, loopback, ICMP and the containers' own
 * traffic pass. nft runs in a container on the host's network with NET_ADMIN only (the deploy user
 * needs no sudo); a container with a restart policy applies the confirmed rules again after a reboot.
 *
 * Never locking out SSH: the trial step refuses rules that would not admit the very SSH connection it
 * runs over (`$SSH_CONNECTION`), then applies them on trial: they remove themselves after
 * `trialSeconds` unless the confirm step, over a new SSH connection, keeps them.
 */
import { HOST_LOCK, hostPath, lines, pullWhenMissing, shq, STRICT, engineAnswers } from "../shell";

export interface FirewallSpec {
  /** The stack's prefix (`copilotos-prod`): the name of its entries file. */
  stack: string;
  /** The port sshd listens on, on the host. */
  sshPort: number;
  /** Who may open SSH connections (CIDR blocks). */
  sshSources: string[];
  /** The proxy's published ports (web, API, their HTTPS ports). */
  ports: number[];
  /** Who may reach those ports (CIDR blocks). */
  sources: string[];
  /** An image with `nft` (nftables) and `sh`. */
  image: string;
  /** Seconds rules stay on trial before removing themselves unless confirmed. */
  trialSeconds: number;
  /** The folder of the entries and rule files on the host. */
  dir: string;
}

export const FIREWALL_DIR = "~/.copilotos/firewall";
/** The container that applies the confirmed rules at every engine start. */
export const FIREWALL_CONTAINER = "copilotos-firewall";
export const FIREWALL_TRIAL_CONTAINER = "copilotos-firewall-trial";
/** How long a trial the confirm step restarts lasts: time for the operator's next `pulumi up`. */
export const FIREWALL_RETRIAL_SECONDS = 900;
/** Label holding the sha256 of the rules a firewall container applied. */
const RULES_LABEL = "org.copilotos.firewall.rules";
const MOUNT = "/firewall";

/** The stack's entries: one `<CIDR> <port>` line per source and port, SSH first. */
export function firewallEntries(s: Pick<FirewallSpec, "sshPort" | "sshSources" | "ports" | "sources">): string {
  const entries = [...s.sshSources.map((c) => `${c} ${s.sshPort}`), ...s.ports.flatMap((p) => s.sources.map((c) => `${c} ${p}`))];
  return entries.map((e) => `${e}\n`).join("");
}

/** The table: fixed lines around the rules the entries make (after the head: input rules; after the middle: forward rules). */
export const RULESET = {
  head: [
    "table inet copilotos",
    "delete table inet copilotos",
    "table inet copilotos {",
    "  chain input {",
    "    type filter hook input priority filter - 1; policy accept;",
    "    ct state established,related accept",
    '    iif "lo" accept',
    '    iifname "docker0" accept',
    '    iifname "br-*" accept',
    // ICMP and ICMPv6 by number: an image without /etc/protocols resolves no protocol names.
    "    meta l4proto { 1, 58 } accept",
  ],
  middle: [
    "    ct state new counter drop",
    "  }",
    "  chain forward {",
    "    type filter hook forward priority filter - 1; policy accept;",
    "    ct state established,related accept",
    '    iifname "docker0" accept',
    '    iifname "br-*" accept',
  ],
  tail: ["    ct status dnat counter drop", '    oifname "docker0" drop', '    oifname "br-*" drop', "  }", "}"],
};

/** awk programs turning `<CIDR> <port>` lines into input rules and forward rules (published ports: the port before DNAT). */
const FAMILY = '$1 ~ /:/ { fam = "ip6" } $1 !~ /:/ { fam = "ip" }';
export const INPUT_RULE_AWK = `${FAMILY} NF == 2 { printf "    %s saddr %s tcp dport %s accept\\n", fam, $1, $2 }`;
export const FORWARD_RULE_AWK = `${FAMILY} NF == 2 { printf "    ct status dnat %s saddr %s meta l4proto tcp ct original proto-dst %s accept\\n", fam, $1, $2 }`;

/** A line that writes the table for the `<CIDR> <port>` lines of `entries` (sorted, unique) to `target` (shell words). */
export function rulesetLine(entries: string, target: string): string {
  const print = (l: string[]) => `printf '%s\\n' ${l.map(shq).join(" ")}`;
  return `{ ${print(RULESET.head)}; awk ${shq(INPUT_RULE_AWK)} ${entries}; ${print(RULESET.middle)}; awk ${shq(FORWARD_RULE_AWK)} ${entries}; ${print(RULESET.tail)}; } > ${target}`;
}

/** `nft_run <args>`: nft in a throwaway container on the host's network, the folder read-only. */
function nftLines(image: string): string[] {
  return [
    ...pullWhenMissing(image, "firewall: pulling"),
    `nft_run() { docker run --rm --network host --cap-drop ALL --cap-add NET_ADMIN --security-opt no-new-privileges -v "$dir":${MOUNT}:ro --entrypoint nft "$img" "$@"; }`,
  ];
}

/**
 * Lines that exit 1 unless some entry admits this SSH connection (`$SSH_CONNECTION`: client address
 * and port, server address and port): its server port, and its client address within the source.
 */
export function sshAdmissionLines(stack: string): string[] {
  return [
    "# shellcheck disable=SC2086 # split into its four fields",
    "set -- ${SSH_CONNECTION:-}",
    '[ $# -eq 4 ] || { echo "firewall: not run over SSH (no SSH_CONNECTION): cannot tell which connection the rules must keep; nothing was changed" >&2; exit 1; }',
    "client=$1; server_port=$4",
    "ip4() { oldifs=$IFS; IFS=.; set -- $1; IFS=$oldifs; echo $(( ($1 << 24) + ($2 << 16) + ($3 << 8) + $4 )); }",
    "# yes: the CIDR $1 holds the address $2; no: it does not; unknown: an IPv6 range other than ::/0 (the trial guards it)",
    "admits() { case $1 in",
    '  *:*) case $2 in *:*) if [ "$1" = ::/0 ]; then echo yes; else echo unknown; fi ;; *) echo no ;; esac ;;',
    "  *) case $2 in *:*) echo no ;; *)",
    "    bits=${1#*/}; mask=$(( (0xffffffff << (32 - bits)) & 0xffffffff ))",
    '    if [ $(( $(ip4 "${1%/*}") & mask )) -eq $(( $(ip4 "$2") & mask )) ]; then echo yes; else echo no; fi ;; esac ;;',
    "esac; }",
    "kept=no",
    "while read -r cidr entry_port; do",
    '  [ "$entry_port" = "$server_port" ] || continue',
    '  case $(admits "$cidr" "$client") in yes) kept=yes ;; unknown) [ "$kept" = yes ] || kept=unknown ;; esac',
    'done < "$dir/.entries.check"',
    "case $client in 127.*|::1) kept=yes ;; esac",
    'if [ "$kept" = unknown ]; then echo "firewall: cannot tell here whether an IPv6 range admits $client: the trial keeps SSH safe"; kept=yes; fi',
    `[ "$kept" = yes ] || { echo "firewall: these rules would not admit this SSH connection (from $client to port $server_port): add $client to host.firewall.sshCidrs, or set host.firewall.sshPort to $server_port; nothing was changed" >&2; rm -f "$dir/.${stack}.entries.new" "$dir/.entries.check"; exit 1; }`,
  ];
}

/** Lines that put the rules of `$dir/ruleset.nft` on trial: applied now, removed after `seconds` unless confirmed. */
function trialLines(seconds: number | string): string[] {
  const revert = `sleep ${seconds}; if [ -f ${MOUNT}/confirmed.nft ]; then nft -f ${MOUNT}/confirmed.nft; else nft delete table inet copilotos; fi; echo reverted`;
  return [
    `docker rm -f ${FIREWALL_TRIAL_CONTAINER} >/dev/null 2>&1 || true`,
    'cp "$dir/ruleset.nft" "$dir/trial.nft"',
    'sha=$(sha256sum < "$dir/trial.nft" | cut -c1-64)',
    `docker run -d --name ${FIREWALL_TRIAL_CONTAINER} --network host --cap-drop ALL --cap-add NET_ADMIN --security-opt no-new-privileges --label ${RULES_LABEL}="$sha" -v "$dir":${MOUNT}:ro --entrypoint sh "$img" -c ${shq(`nft -f ${MOUNT}/trial.nft && echo applied && ${revert}`)} >/dev/null`,
    "i=0",
    `until [ "$(docker logs ${FIREWALL_TRIAL_CONTAINER} 2>&1 | head -n 1)" = applied ]; do`,
    `  i=$((i + 1)); if [ $i -gt 50 ] || [ "$(docker inspect -f '{{.State.Running}}' ${FIREWALL_TRIAL_CONTAINER})" != true ]; then docker logs ${FIREWALL_TRIAL_CONTAINER} >&2; docker rm -f ${FIREWALL_TRIAL_CONTAINER} >/dev/null; echo "firewall: the rules did not apply; nothing was changed" >&2; exit 1; fi`,
    "  sleep 0.2",
    "done",
  ];
}

/** Writes the stack's entries, refuses rules that would shut this SSH connection out, checks them with nft, and puts them on trial. */
export function firewallTrialScript(s: FirewallSpec): string {
  return lines(
    STRICT,
    ...HOST_LOCK,
    engineAnswers("firewall"),
    // Readable by all (nothing in it is secret): nft's container runs as a root without CAP_DAC_OVERRIDE.
    `dir=${hostPath(s.dir)}; mkdir -p "$dir"; chmod 755 "$dir"`,
    ...nftLines(s.image),
    `printf '%s' ${shq(firewallEntries(s))} > "$dir/.${s.stack}.entries.new"`,
    // This stack's new entries and every other stack's: what the table will hold.
    `for f in "$dir/.${s.stack}.entries.new" "$dir"/*.entries; do [ "$f" = "$dir/${s.stack}.entries" ] || [ ! -f "$f" ] || cat "$f"; done | sort -u > "$dir/.entries.check"`,
    ...sshAdmissionLines(s.stack),
    rulesetLine('"$dir/.entries.check"', '"$dir/.ruleset.nft.new"'),
    'rm -f "$dir/.entries.check"',
    `nft_run -c -f ${MOUNT}/.ruleset.nft.new || { echo "firewall: nft refused the rules (above); nothing was applied" >&2; rm -f "$dir/.ruleset.nft.new" "$dir/.${s.stack}.entries.new"; exit 1; }`,
    `mv "$dir/.${s.stack}.entries.new" "$dir/${s.stack}.entries"; mv "$dir/.ruleset.nft.new" "$dir/ruleset.nft"`,
    ...trialLines(s.trialSeconds),
    `echo "firewall: ${s.stack}: SSH (${s.sshPort}) from ${s.sshSources.join(" ")}, ports ${s.ports.join(" ")} from ${s.sources.join(" ")}; every other inbound port closed, on trial for ${s.trialSeconds} s until a new SSH connection confirms it"`,
  );
}

/** Lines that make `$dir/ruleset.nft` (its sha256 in `$sha`) the confirmed rules, applied now and by a restarting container at every engine start. */
function keepLines(): string[] {
  return [
    'cp "$dir/ruleset.nft" "$dir/confirmed.nft"',
    // In force when the step ends (the container below starts detached; it applies them again at each engine start).
    `nft_run -f ${MOUNT}/confirmed.nft`,
    `docker rm -f ${FIREWALL_CONTAINER} >/dev/null 2>&1 || true`,
    `docker run -d --name ${FIREWALL_CONTAINER} --restart unless-stopped --network host --cap-drop ALL --cap-add NET_ADMIN --security-opt no-new-privileges --label ${RULES_LABEL}="$sha" -v "$dir":${MOUNT}:ro --entrypoint sh "$img" -c ${shq(`nft -f ${MOUNT}/confirmed.nft && echo applied && exec tail -f /dev/null`)} >/dev/null`,
  ];
}

/**
 * Over a new SSH connection: keeps the rules on trial (this connection got in under them), as the
 * confirmed rules a restarting container applies at every engine start. Already kept: nothing to do.
 * The trial over (it reverted): puts the rules on trial again for FIREWALL_RETRIAL_SECONDS and fails,
 * asking for another `pulumi up`, whose new connection then confirms them.
 */
export function firewallConfirmScript(s: Pick<FirewallSpec, "dir" | "image" | "stack">): string {
  const label = `{{index .Config.Labels "${RULES_LABEL}"}}`;
  return lines(
    STRICT,
    ...HOST_LOCK,
    engineAnswers("firewall"),
    `dir=${hostPath(s.dir)}`,
    ...nftLines(s.image),
    '[ -f "$dir/ruleset.nft" ] || { echo "firewall: no rules on this host ($dir/ruleset.nft): run pulumi up (its trial step writes them)" >&2; exit 1; }',
    'sha=$(sha256sum < "$dir/ruleset.nft" | cut -c1-64)',
    `kept=$(docker inspect -f '{{.State.Running}} ${label}' ${FIREWALL_CONTAINER} 2>/dev/null || true)`,
    `if [ "$kept" = "true $sha" ]; then docker rm -f ${FIREWALL_TRIAL_CONTAINER} >/dev/null 2>&1 || true; echo "firewall: the rules are in force and confirmed"; exit 0; fi`,
    `trial=$(docker inspect -f '{{.State.Running}} ${label}' ${FIREWALL_TRIAL_CONTAINER} 2>/dev/null || true)`,
    'if [ "$trial" != "true $sha" ]; then',
    ...trialLines(FIREWALL_RETRIAL_SECONDS).map((l) => `  ${l}`),
    `  echo ${shq(`firewall: the rules' trial ended before a new SSH connection confirmed them (they removed themselves). They are on trial again for ${FIREWALL_RETRIAL_SECONDS / 60} minutes: run pulumi up again to confirm them, or fix host.firewall.sshCidrs if SSH fails`)} >&2`,
    "  exit 1",
    "fi",
    `docker rm -f ${FIREWALL_TRIAL_CONTAINER} >/dev/null`,
    ...keepLines(),
    `echo "firewall: confirmed over a new SSH connection; ${FIREWALL_CONTAINER} applies the rules at every engine start"`,
  );
}

/** Takes the stack's entries out: the rest of the host's stacks keep theirs; the last one out removes the table. */
export function firewallRemoveScript(s: Pick<FirewallSpec, "dir" | "image" | "stack">): string {
  return lines(
    STRICT,
    ...HOST_LOCK,
    `dir=${hostPath(s.dir)}`,
    `[ -f "$dir/${s.stack}.entries" ] || { echo "firewall: ${s.stack} has no entries on this host; nothing to remove"; exit 0; }`,
    engineAnswers("firewall"),
    ...nftLines(s.image),
    `rm -f "$dir/${s.stack}.entries"`,
    `docker rm -f ${FIREWALL_TRIAL_CONTAINER} >/dev/null 2>&1 || true`,
    'if ls "$dir"/*.entries >/dev/null 2>&1; then',
    `  cat "$dir"/*.entries | sort -u > "$dir/.entries.all"`,
    `  ${rulesetLine('"$dir/.entries.all"', '"$dir/ruleset.nft"')}`,
    '  rm -f "$dir/.entries.all"',
    '  sha=$(sha256sum < "$dir/ruleset.nft" | cut -c1-64)',
    ...keepLines().map((l) => `  ${l}`),
    `  echo "firewall: ${s.stack}'s ports taken out; the other stacks' rules stay"`,
    "else",
    `  docker rm -f ${FIREWALL_CONTAINER} >/dev/null 2>&1 || true`,
    "  nft_run delete table inet copilotos 2>/dev/null || true",
    '  rm -f "$dir/ruleset.nft" "$dir/confirmed.nft" "$dir/trial.nft"',
    `  echo "firewall: removed (${s.stack} was the last stack with rules on this host)"`,
    "fi",
  );
}
