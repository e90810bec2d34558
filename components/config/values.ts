/**
 * Value schemas the config is built from. Top-level values set with `pulumi config set` arrive as
 * strings; nested ones (set with --path or written in YAML) may arrive as numbers or booleans, so
 * numbers and booleans accept both.
 */
import { z } from "zod";
import { IPV4_CIDR, IPV6_CIDR } from "../renderers/hosts/aws";
import { isMutableImageRef, parseImageRef } from "../renderers/services/imageRef";

const fromString = (parse: (s: string) => unknown) => (v: unknown) => (typeof v === "string" && v.trim() !== "" ? parse(v.trim()) : v);
export const toNumber = fromString((s) => (/^-?\d+(\.\d+)?$/.test(s) ? Number(s) : s));
const toBoolean = fromString((s) => (s === "true" ? true : s === "false" ? false : s));

/** A list given as JSON text (`--config key='["a","b"]'`, a nested value set without --path) is read as the list. */
export const jsonList = (v: unknown) => {
  if (typeof v !== "string" || !v.trim().startsWith("[")) return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
};

export const integer = (min: number, max: number, what: string) =>
  z.preprocess(
    toNumber,
    z
      .number({ error: `must be ${what}` })
      .int({ error: `must be ${what}` })
      .min(min, { error: `must be ${what}` })
      .max(max, { error: `must be ${what}` }),
  );
export const port = () => integer(1, 65535, "a whole number from 1 to 65535");
export const bool = () => z.preprocess(toBoolean, z.boolean({ error: "must be true or false" }));
/** A string whose absence and whose wrong type are told apart: "is required …" only when nothing was given. */
export const requiredString = (required: string, what: string) => z.string({ error: (issue) => (issue.input === undefined ? required : `must be ${what}`) });

export const text = (what = "a non-empty string") => z.string({ error: `must be ${what}` }).min(1, { error: `must be ${what}` });

export const imageRef = (opts: { pinned: boolean }) =>
  text("an image reference such as name:tag or name@sha256:<digest>")
    .max(512, { error: "must be at most 512 characters (an image reference)" })
    .superRefine((ref, ctx) => {
      const parsed = parseImageRef(ref);
      if (!parsed) {
        ctx.addIssue({ code: "custom", message: "is not a valid image reference (name[:tag][@sha256:<digest>])" });
      } else if (opts.pinned && isMutableImageRef(parsed)) {
        ctx.addIssue({
          code: "custom",
          message: "has no stable tag; use a version tag (e.g. mongo:7) or a digest, never latest",
        });
      }
    });

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const envMap = z
  .record(
    z.string().regex(ENV_NAME, { error: "environment variable names must match [A-Za-z_][A-Za-z0-9_]*" }),
    z.union([z.string(), z.number(), z.boolean()], { error: "must be a string" }).transform(String),
  )
  .default({});

/** A list of CIDR blocks, at least `min` of them; JSON text (`'["10.0.0.0/8"]'`, as `pulumi config set --path` stores it) is read as the list. */
export const cidrList = (what: string, min = 0) =>
  z.preprocess(
    jsonList,
    z
      .array(
        z.string({ error: "must be a CIDR block such as 203.0.113.7/32" }).refine((s) => IPV4_CIDR.test(s) || IPV6_CIDR.test(s), {
          error: "must be a CIDR block such as 203.0.113.7/32 or 2001:db8::/48",
        }),
        { error: `must be a list of CIDR blocks ${what}` },
      )
      .min(min, { error: `must name at least one CIDR block ${what}` }),
  );
