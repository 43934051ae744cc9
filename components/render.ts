import * as fs from "fs";
import * as path from "path";

const TEMPLATE_DIR = path.join(__dirname, "..", "config-templates");
const PLACEHOLDER = /\{\{([A-Za-z][A-Za-z0-9]*)\}\}/g;

/**
 * Fills every `{{name}}` placeholder of a template. A placeholder without a value, or a value
 * that no placeholder uses, is an error: both mean the template and its caller disagree.
 */
export function renderTemplate(template: string, values: Readonly<Record<string, string>>): string {
  const used = new Set<string>();
  const rendered = template.replace(PLACEHOLDER, (_match, name: string) => {
    if (!Object.prototype.hasOwnProperty.call(values, name)) {
      throw new Error(`template placeholder {{${name}}} has no value`);
    }
    used.add(name);
    return values[name];
  });
  const unused = Object.keys(values).filter((name) => !used.has(name));
  if (unused.length > 0) throw new Error(`values not used by the template: ${unused.join(", ")}`);
  return rendered;
}

/** Reads a template from config-templates/. */
export function readTemplate(file: string): string {
  return fs.readFileSync(path.join(TEMPLATE_DIR, file), "utf8");
}
