/** Input comparison and the decision between same / update / replace. */
import { Json, PropMap, ResourceState } from "./types";

export function deepEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  }
  const ao = a as Record<string, Json>;
  const bo = b as Record<string, Json>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const k of keys) if (!deepEqual(ao[k], bo[k])) return false;
  return true;
}

/** Top-level keys whose values differ between the old and the new inputs. */
export function changedKeys(olds: PropMap, news: PropMap): string[] {
  const keys = new Set([...Object.keys(olds), ...Object.keys(news)]);
  return [...keys].filter((k) => !deepEqual(olds[k], news[k])).sort();
}

/** `triggers[*]`, `a.b`, `a["b"]` -> the top-level property name. */
export function topLevelKey(propertyPath: string): string {
  return propertyPath.split(/[.[]/)[0];
}

/** Applies `ignoreChanges`: ignored top-level keys keep their old value. */
export function applyIgnoreChanges(old: ResourceState, news: PropMap, paths: string[]): PropMap {
  const out: PropMap = { ...news };
  for (const p of paths) {
    const k = topLevelKey(p);
    if (k in old.inputs) out[k] = old.inputs[k];
    else delete out[k];
  }
  return out;
}

/**
 * `replaceOnChanges` forces a replacement when one of its properties changed; `*` covers every
 * property and also the engine's `#initerror` key of a partly created resource.
 */
export function forcedReplace(
  changed: string[],
  replaceOnChanges: string[],
  initError = false,
): boolean {
  return replaceOnChanges.some(
    (p) =>
      (p === "*" && (changed.length > 0 || initError)) ||
      (p === "#initerror" && initError) ||
      changed.includes(topLevelKey(p)),
  );
}
