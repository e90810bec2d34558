import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { StackConfig } from "./config";

/** The generated (or configured) secrets of one stack. */
export type SecretName = "mongoPassword" | "redisPassword" | "jwtSecretKey" | "secretKey";
export const SECRET_NAMES: readonly SecretName[] = ["mongoPassword", "redisPassword", "jwtSecretKey", "secretKey"];

export interface StackSecretsArgs {
  /** Length of every generated secret (config `secretLength`, at least 32). */
  length: number;
  /**
   * Values to use instead of generating them (config `mongoPassword`, ...).
   * @default {} (all generated)
   */
  overrides?: Partial<Record<SecretName, pulumi.Input<string>>>;
  /**
   * Per secret, a value whose change generates a new secret (config `mongo.rotate`). Unset means
   * no keeper, so existing stacks keep their secrets. @default {}
   */
  rotate?: Partial<Record<SecretName, string>>;
}

/** The stack's secrets as the config asks: its length, its overrides, and the Mongo password's rotation keeper. */
export function secretsArgsOf(cfg: StackConfig): StackSecretsArgs {
  return {
    length: cfg.secretLength,
    overrides: { mongoPassword: cfg.mongoPassword, redisPassword: cfg.redisPassword, jwtSecretKey: cfg.jwtSecretKey, secretKey: cfg.secretKey },
    rotate: { mongoPassword: cfg.mongo.rotate },
  };
}

/**
 * Mongo, Redis, JWT and SECRET_KEY secrets: a @pulumi/random RandomPassword each (URL-safe
 * characters), or the configured override. Generated once and kept in the stack state, so they
 * never drift between the database and the app; every value leaves as a Pulumi secret.
 */
export class StackSecrets extends pulumi.ComponentResource {
  public readonly mongoPassword: pulumi.Output<string>;
  public readonly redisPassword: pulumi.Output<string>;
  public readonly jwtSecretKey: pulumi.Output<string>;
  public readonly secretKey: pulumi.Output<string>;

  constructor(name: string, args: StackSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:secrets:StackSecrets", name, {}, opts);
    const length = args.length;
    const make = (key: SecretName, suffix: string): pulumi.Output<string> => {
      const override = args.overrides?.[key];
      if (override !== undefined) return pulumi.secret(override);
      const generated = new random.RandomPassword(
        `${name}-${suffix}`,
        {
          length,
          special: true,
          overrideSpecial: "-_",
          minLower: 1,
          minUpper: 1,
          minNumeric: 1,
          ...(args.rotate?.[key] !== undefined ? { keepers: { rotate: args.rotate[key] } } : {}),
        },
        { parent: this },
      );
      // `result` is secret in a real engine; wrapping keeps it secret everywhere (mocks included).
      return pulumi.secret(generated.result);
    };
    this.mongoPassword = make("mongoPassword", "mongo-password");
    this.redisPassword = make("redisPassword", "redis-password");
    this.jwtSecretKey = make("jwtSecretKey", "jwt-secret-key");
    this.secretKey = make("secretKey", "secret-key");
    this.registerOutputs({
      mongoPassword: this.mongoPassword,
      redisPassword: this.redisPassword,
      jwtSecretKey: this.jwtSecretKey,
      secretKey: this.secretKey,
    });
  }
}
