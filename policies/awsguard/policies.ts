/**
 * awsguard's policies as plain values, for running them in-process (policies/evaluate.ts) the way
 * the tests and `npm run check` run this project's own pack. awsguard registers each policy when
 * its module loads and hands them out only through the AwsGuard pack, whose constructor starts the
 * analyzer server; so they are read from its modules' exports instead.
 */
import type { Policy } from "@pulumi/policy";
import * as apiGateway from "@pulumi/awsguard/apiGateway";
import * as compute from "@pulumi/awsguard/compute";
import * as database from "@pulumi/awsguard/database";
import * as elasticsearch from "@pulumi/awsguard/elasticsearch";
import * as network from "@pulumi/awsguard/network";
import * as security from "@pulumi/awsguard/security";
import * as storage from "@pulumi/awsguard/storage";

const MODULES: unknown[] = [apiGateway, compute, database, elasticsearch, network, security, storage];

const isPolicy = (v: unknown): v is Policy =>
  typeof v === "object" && v !== null && typeof (v as Policy).name === "string" && ("validateResource" in v || "validateStack" in v);

/** Every awsguard policy, each once. */
export function awsguardPolicies(): Policy[] {
  const byName = new Map<string, Policy>();
  for (const m of MODULES) for (const v of Object.values(m as Record<string, unknown>)) if (isPolicy(v)) byName.set(v.name, v);
  return [...byName.values()];
}
