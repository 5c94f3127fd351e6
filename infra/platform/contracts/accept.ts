import * as v from "valibot";

/** What an accept function returns for a value it does not accept (valibot then says why). */
export const UNDECIDED: unique symbol = Symbol("undecided");

export type Accept<S extends v.GenericSchema> = (value: unknown) => v.InferOutput<S> | typeof UNDECIDED;

type AnySchema = v.GenericSchema & {
  reference: unknown;
  type: string;
  pipe?: readonly (v.GenericSchema | v.GenericValidation | v.GenericTransformation | { kind: "metadata" })[];
  entries?: Record<string, AnySchema>;
  wrapped?: AnySchema;
  item?: AnySchema;
  options?: readonly unknown[];
  default?: unknown;
  fallback?: unknown;
};
type AnyAction = { kind: string; reference: unknown; requirement?: unknown };

/** The generated function's constants (schemas, actions, requirements) and its variable counter. */
type Emit = { constants: unknown[]; next: number };

const constant = (emit: Emit, value: unknown) => `k[${emit.constants.push(value) - 1}]`;
const variable = (emit: Emit) => `v${emit.next++}`;

/** Any node the generator does not specialize runs valibot's own code for that node (and only that node). */
function viaValibot(emit: Emit, node: AnySchema | AnyAction, input: string): { code: string; out: string } {
  const d = variable(emit);
  // A schema starts untyped (as in safeParse); an action runs on a typed value.
  const typed = node.kind === "schema" ? "" : "typed: true, ";
  const code = `const ${d} = ${constant(emit, node)}["~run"]({ ${typed}value: ${input} }, config);
if (${d}.issues || !${d}.typed) return U;
`;
  return { code, out: `${d}.value` };
}

/** A check a validation makes, as a condition that holds when it fails; undefined: run valibot's. */
function failsWhen(emit: Emit, action: AnyAction, input: string): string | undefined {
  const requirement = () => constant(emit, action.requirement);
  switch (action.reference) {
    case v.maxLength:
      return `${input}.length > ${requirement()}`;
    case v.minLength:
      return `${input}.length < ${requirement()}`;
    case v.nonEmpty:
      return `${input}.length === 0`;
    case v.regex:
      return `!${requirement()}.test(${input})`;
    case v.check:
    case v.finite:
    case v.integer:
      return `!${requirement()}(${input})`;
    case v.minValue:
      return `!(${input} >= ${requirement()})`;
    case v.maxValue:
      return `!(${input} <= ${requirement()})`;
    default:
      return undefined;
  }
}

const OPTIONAL_TYPES = new Set(["optional", "nullish", "exact_optional"]);

/**
 * Code that leaves a node's output in `out` when the value passes every
 * check, and returns U otherwise. Each specialized node does what valibot's
 * own does on success (the same checks, the same output, objects' keys in
 * the schema's order); a default made by a function, and a fallback, run
 * valibot's code.
 */
function node(emit: Emit, schema: AnySchema, input: string): { code: string; out: string } {
  if (schema.async) throw new Error("an async schema cannot be compiled to a synchronous accept");
  if (schema.pipe) {
    const [root, ...actions] = schema.pipe as [AnySchema, ...(AnySchema | AnyAction)[]];
    let { code, out } = node(emit, root, input);
    for (const action of actions) {
      if (action.kind === "metadata") continue;
      if (action.kind === "schema") {
        const inner = node(emit, action as AnySchema, out);
        code += inner.code;
        out = inner.out;
        continue;
      }
      const fails = action.kind === "validation" ? failsWhen(emit, action as AnyAction, out) : undefined;
      if (fails !== undefined) {
        code += `if (${fails}) return U;\n`;
        continue;
      }
      const step = viaValibot(emit, action as AnyAction, out);
      const o = variable(emit);
      code += `${step.code}const ${o} = ${step.out};\n`;
      out = o;
    }
    return { code, out };
  }
  // A default computed by a function, or a fallback: valibot's code.
  if (typeof schema.default === "function" || schema.fallback !== undefined) return viaValibot(emit, schema, input);
  switch (schema.reference) {
    case v.string:
      return { code: `if (typeof ${input} !== "string") return U;\n`, out: input };
    case v.number:
      return { code: `if (typeof ${input} !== "number" || Number.isNaN(${input})) return U;\n`, out: input };
    case v.boolean:
      return { code: `if (typeof ${input} !== "boolean") return U;\n`, out: input };
    case v.unknown:
      return { code: "", out: input };
    case v.picklist:
      return { code: `if (!${constant(emit, new Set(schema.options))}.has(${input})) return U;\n`, out: input };
    case v.nullish:
    case v.nullable:
    case v.optional: {
      const o = variable(emit);
      const absent =
        schema.reference === v.nullish
          ? `${o} === null || ${o} === undefined`
          : schema.reference === v.nullable
            ? `${o} === null`
            : `${o} === undefined`;
      const inner = node(emit, schema.wrapped!, o);
      const orDefault =
        schema.default === undefined ? "" : `if (${absent}) ${o} = ${constant(emit, schema.default)};\n`;
      return {
        code: `let ${o} = ${input};\n${orDefault}if (!(${absent})) {\n${inner.code}${o} = ${inner.out};\n}\n`,
        out: o,
      };
    }
    case v.array: {
      const [o, i, item] = [variable(emit), variable(emit), variable(emit)];
      const inner = node(emit, schema.item!, item);
      const code = `if (!Array.isArray(${input})) return U;
const ${o} = [];
for (let ${i} = 0; ${i} < ${input}.length; ${i}++) {
const ${item} = ${input}[${i}];
${inner.code}${o}.push(${inner.out});
}
`;
      return { code, out: o };
    }
    case v.object: {
      const o = variable(emit);
      let code = `if (!${input} || typeof ${input} !== "object") return U;\nconst ${o} = {};\n`;
      for (const [key, entry] of Object.entries(schema.entries!)) {
        if (entry.fallback !== undefined || typeof entry.default === "function") return viaValibot(emit, schema, input);
        const name = JSON.stringify(key);
        const field = variable(emit);
        const inner = node(emit, entry, field);
        const assign = `${inner.code}${o}[${name}] = ${inner.out};\n`;
        if (OPTIONAL_TYPES.has(entry.type) && entry.default !== undefined)
          // An absent field is its default, as valibot's object puts it in.
          code += `const ${field} = ${name} in ${input} ? ${input}[${name}] : ${constant(emit, entry.default)};\n${assign}`;
        else {
          const absent = OPTIONAL_TYPES.has(entry.type) ? "" : " else return U;";
          code += `if (${name} in ${input}) {\nconst ${field} = ${input}[${name}];\n${assign}}${absent}\n`;
        }
      }
      return { code, out: o };
    }
    default:
      return viaValibot(emit, schema, input);
  }
}

const compiled = new WeakMap<v.GenericSchema, Accept<v.GenericSchema>>();

/**
 * A schema's accept path as one generated function: the value's output when
 * it passes every check of the schema, UNDECIDED otherwise (the caller then
 * asks valibot, whose issues name the fields). valibot stays the contract:
 * this only runs its checks without the per-node dispatch and datasets of a
 * generic interpreter (a clickstream event: ~3 µs in valibot, which was a
 * fifth of the API's ingest CPU). Unknown node kinds run valibot's own code.
 */
export function acceptOf<S extends v.GenericSchema>(schema: S): Accept<S> {
  let accept = compiled.get(schema);
  if (!accept) {
    const emit: Emit = { constants: [], next: 1 };
    const { code, out } = node(emit, schema as unknown as AnySchema, "v0");
    const config = v.getGlobalConfig({ abortPipeEarly: true });
    accept = new Function("k", "U", "config", `return function accept(v0) {\n${code}return ${out};\n}`)(
      emit.constants,
      UNDECIDED,
      config,
    ) as Accept<v.GenericSchema>;
    compiled.set(schema, accept);
  }
  return accept as Accept<S>;
}
