/** Every rule of the pack, importable without starting the policy server. */
import { Policies } from "@pulumi/policy";
import { apiOriginsRestricted } from "./rules/apiOriginsRestricted";
import { awsHostHardened } from "./rules/awsHostHardened";
import { awsNoDatabasePorts } from "./rules/awsNoDatabasePorts";
import { awsSshRestricted } from "./rules/awsSshRestricted";
import { backupBucketPrivate } from "./rules/backupBucketPrivate";
import { containersHardened } from "./rules/containersHardened";
import { databasesSized } from "./rules/databasesSized";
import { dataVolumesRetained } from "./rules/dataVolumesRetained";
import { mongoPasswordConsistency } from "./rules/mongoPasswordConsistency";
import { noMutableImageTags } from "./rules/noMutableImageTags";
import { noPlaintextSecretsInEnv } from "./rules/noPlaintextSecretsInEnv";
import { pidsLimited } from "./rules/pidsLimited";
import { saptivaKeySet } from "./rules/saptivaKeySet";
import { secretMinLength } from "./rules/secretMinLength";
import { sshHostKeyPinned } from "./rules/sshHostKeyPinned";
import { swarmDataPinned } from "./rules/swarmDataPinned";
import { tlsEnabled } from "./rules/tlsEnabled";
import { uniqueHostPorts } from "./rules/uniqueHostPorts";

export const PACK_NAME = "copilotos-guard";
/** The pack's one default; a rule may set its own (no-mutable-image-tags is advisory unless configured). */
export const PACK_ENFORCEMENT = "mandatory" as const;

export const rules: Policies = [
  secretMinLength,
  saptivaKeySet,
  mongoPasswordConsistency,
  uniqueHostPorts,
  noMutableImageTags,
  dataVolumesRetained,
  containersHardened,
  pidsLimited,
  databasesSized,
  apiOriginsRestricted,
  tlsEnabled,
  noPlaintextSecretsInEnv,
  sshHostKeyPinned,
  awsSshRestricted,
  awsNoDatabasePorts,
  awsHostHardened,
  backupBucketPrivate,
  swarmDataPinned,
];
