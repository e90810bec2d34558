/**
 * The stack's Alertmanager as host scripts reach it: amtool inside its container (nothing is
 * published), once the script has set `$am` ({@link alertmanagerVar}). Shared by the maintenance
 * silence and the gates' alert. Pure.
 */
import type { StackIdentity } from "../names";
import { shq } from "../shell";
import { monitoringContainerName, portOf } from "./spec";

/** Sets `$am` to the stack's Alertmanager container. */
export const alertmanagerVar = (id: StackIdentity): string => `am=${shq(monitoringContainerName(id, "alertmanager"))}`;
/** A test: `$am` runs (else the stack has no monitoring, or it is down). */
export const AM_RUNNING = `[ "$(docker inspect -f '{{.State.Running}}' "$am" 2>/dev/null)" = true ]`;
/** amtool inside `$am`, talking to its own Alertmanager: `amtool("silence add …")`. */
export const amtool = (args: string): string => `docker exec "$am" amtool --alertmanager.url=http://127.0.0.1:${portOf("alertmanager")} ${args}`;
