/** Stand-in for the random provider: RandomPassword and RandomString (crypto-random). */
import * as crypto from "crypto";
import { PropMap } from "../types";
import { CreateResult, Provider, rejectUnsupported } from "./types";

const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER = "abcdefghijklmnopqrstuvwxyz";
const DIGITS = "0123456789";
const SPECIAL = "!@#$%&*()-_=+[]{}<>:?";

const SUPPORTED = [
  "length",
  "upper",
  "lower",
  "numeric",
  "number",
  "special",
  "minUpper",
  "minLower",
  "minNumeric",
  "minSpecial",
  "overrideSpecial",
  "keepers",
];

function pick(charset: string): string {
  return charset[crypto.randomInt(charset.length)];
}

function num(v: unknown, dflt: number): number {
  return typeof v === "number" ? v : dflt;
}

function flag(v: unknown, dflt: boolean): boolean {
  return typeof v === "boolean" ? v : dflt;
}

/** Same rules as the random provider: minimums first, then fill, then shuffle. */
export function generate(inputs: PropMap): string {
  const length = num(inputs.length, 0);
  if (length < 1) throw new Error("random: length must be at least 1");
  const special = typeof inputs.overrideSpecial === "string" ? inputs.overrideSpecial : SPECIAL;
  const numeric = flag(inputs.numeric, flag(inputs.number, true));
  const classes: [boolean, string, number][] = [
    [flag(inputs.upper, true), UPPER, num(inputs.minUpper, 0)],
    [flag(inputs.lower, true), LOWER, num(inputs.minLower, 0)],
    [numeric, DIGITS, num(inputs.minNumeric, 0)],
    [flag(inputs.special, true), special, num(inputs.minSpecial, 0)],
  ];
  const chars: string[] = [];
  let all = "";
  for (const [on, set, min] of classes) {
    if (!on || set.length === 0) continue;
    all += set;
    for (let i = 0; i < min; i++) chars.push(pick(set));
  }
  if (all.length === 0) throw new Error("random: every character class is disabled");
  if (chars.length > length) throw new Error("random: the minimums exceed length");
  while (chars.length < length) chars.push(pick(all));
  for (let i = chars.length - 1; i > 0; i--) {
    const j = crypto.randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j], chars[i]];
  }
  return chars.join("");
}

export function randomProvider(kind: "password" | "string"): Provider {
  return {
    check(inputs) {
      rejectUnsupported(kind === "password" ? "RandomPassword" : "RandomString", inputs, SUPPORTED);
    },
    async create(_ctx, inputs): Promise<CreateResult> {
      const result = generate(inputs);
      return {
        id: kind === "password" ? "none" : result,
        outputs: { ...inputs, result },
        secretOutputs: kind === "password" ? ["result"] : [],
      };
    },
    async delete() {},
    requiresReplace: () => true,
    deleteBeforeReplace: () => false,
  };
}
