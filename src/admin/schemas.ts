/**
 * valibot schemas for every path parameter, query string and JSON body of the admin API, and
 * the one place validation failures are turned into a 400 body.
 *
 * Contract:
 * - {@link validate} returns the parsed output or a {@link Problem}: `{ path, message }` issues
 *   whose paths name the schema's own fields ("body.rules[2]", "query.count", "params.name")
 *   and whose messages are written here, never valibot's default texts: those quote the
 *   received value, and rules carry passwords. An unknown property is reported at its parent
 *   path without its name.
 * - Strings arrive as JS (UTF-16) strings; the routes convert them to binary strings
 *   (utf8ToLatin1) before they reach the ACL engine.
 */
import * as v from "valibot";

/** Longest accepted username / category / rule, in UTF-16 code units (Redis has no limit; this is a sanity cap). */
const MAX_NAME = 4096;
const MAX_RULE = 16384;
const MAX_RULES = 4096;

const name = (what: string) =>
  v.pipe(
    v.string(),
    v.minLength(1, `${what} must not be empty`),
    v.maxLength(MAX_NAME, `${what} is longer than ${MAX_NAME} characters`),
  );

/** `:name` of /v1/acl/users/:name. */
export const UserParams = v.strictObject({ name: name("the username") });

/** `:name` of /v1/acl/categories/:name. */
export const CategoryParams = v.strictObject({ name: name("the category") });

/** PUT /v1/acl/users/:name. */
export const PutUserBody = v.strictObject({
  rules: v.pipe(
    v.array(v.pipe(v.string(), v.maxLength(MAX_RULE, `a rule is longer than ${MAX_RULE} characters`))),
    v.maxLength(MAX_RULES, `at most ${MAX_RULES} rules`),
  ),
});

/** POST /v1/acl/dryrun. */
export const DryRunBody = v.strictObject({
  username: name("the username"),
  command: v.pipe(
    v.array(v.pipe(v.string(), v.maxLength(MAX_RULE, `an argument is longer than ${MAX_RULE} characters`))),
    v.minLength(1, "the command must have at least its name"),
    v.maxLength(MAX_RULES, `at most ${MAX_RULES} arguments`),
  ),
});

/** POST /v1/acl/genpass: an optional body. */
export const GenpassBody = v.optional(
  v.strictObject({
    bits: v.optional(
      v.pipe(
        v.number(),
        v.integer("bits must be an integer"),
        v.minValue(1, "bits must be at least 1"),
        v.maxValue(4096, "bits must be at most 4096"),
      ),
    ),
  }),
);

/** POST /v1/acl/save and /v1/acl/load: no body, or an empty object. */
export const EmptyBody = v.optional(v.strictObject({}));

/** GET /v1/acl/log?count=N. */
export const LogQuery = v.strictObject({
  count: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^[0-9]{1,9}$/, "count must be a non-negative integer below 10^9"),
      v.transform((s: string) => Number(s)),
    ),
  ),
});

/** Routes that take no query parameters. */
export const NoQuery = v.strictObject({});

/** Any schema the routes validate with. */
export type Schema = v.GenericSchema;

export interface Issue {
  path: string;
  message: string;
}

export interface Problem {
  error: string;
  issues: Issue[];
}

function issuePath(where: string, issue: v.BaseIssue<unknown>): string {
  let p = where;
  const items = issue.path ?? [];
  // strict_object's unknown-key issue puts the submitted key last: report the parent instead.
  const unknownKey = issue.type === "strict_object" && issue.expected === "never";
  const n = unknownKey ? items.length - 1 : items.length;
  for (let i = 0; i < n; i++) {
    const k = items[i].key;
    p += typeof k === "number" ? `[${k}]` : `.${String(k)}`;
  }
  return p;
}

function issueMessage(issue: v.BaseIssue<unknown>): string {
  if (issue.type === "strict_object" && issue.expected === "never") return "unknown property";
  if (issue.kind === "validation") {
    // Every validation action above carries its own message (no submitted value in it).
    return issue.message;
  }
  const expected = issue.expected ?? issue.type;
  if (issue.type === "object" || issue.type === "strict_object") return "expected an object";
  if (issue.type === "array") return "expected an array";
  if (expected === '"undefined"' || issue.type === "undefined") return "unexpected value";
  return `expected ${expected}`;
}

/** Parse `input` with `schema`; `where` names the part ("body", "query", "params"). */
export function validate<S extends v.GenericSchema>(
  schema: S,
  input: unknown,
  where: string,
): { ok: true; value: v.InferOutput<S> } | { ok: false; problem: Problem } {
  const r = v.safeParse(schema, input);
  if (r.success) return { ok: true, value: r.output };
  return {
    ok: false,
    problem: { error: "invalid request", issues: r.issues.map((i) => ({ path: issuePath(where, i), message: issueMessage(i) })) },
  };
}
