/**
 * Reads the `config:` map of a Pulumi stack file (Pulumi.<stack>.yaml) as the program sees it:
 * keys without the project prefix, values as text, objects JSON-encoded. Handles the flat
 * `project:key: value` form and one level of nested mapping for object-valued keys, which is
 * what this project's stack files use. A `secure:` value cannot be decrypted without Pulumi.
 */
export function readStackConfig(text: string, project: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.split("\n").map((line) => line.replace(/\s+#.*$/, "").replace(/^#.*$/, ""));
  let inConfig = false;
  let objectKey: string | undefined;
  let objectValue: Record<string, string> = {};
  const finishObject = () => {
    if (objectKey !== undefined) values[objectKey] = JSON.stringify(objectValue);
    objectKey = undefined;
    objectValue = {};
  };
  for (const line of lines) {
    if (line.trim() === "") continue;
    if (/^config:\s*$/.test(line)) {
      inConfig = true;
      continue;
    }
    if (!/^\s/.test(line)) {
      finishObject();
      inConfig = false;
      continue;
    }
    if (!inConfig) continue;
    const nested = /^ {4,}([^:\s]+):\s*(.*)$/.exec(line);
    if (nested && objectKey !== undefined) {
      objectValue[nested[1]] = unquote(nested[2]);
      continue;
    }
    const entry = /^ {2}([^:\s]+):([^:\s]+):\s*(.*)$/.exec(line);
    if (!entry) throw new Error(`cannot read stack file line: ${line}`);
    finishObject();
    const [, prefix, key, rawValue] = entry;
    if (prefix !== project) continue;
    if (rawValue === "") {
      objectKey = key;
    } else if (/^secure:/.test(rawValue.trim())) {
      throw new Error(`${key} is an encrypted secret; it can only be read by Pulumi`);
    } else {
      values[key] = unquote(rawValue);
    }
  }
  finishObject();
  return values;
}

function unquote(raw: string): string {
  const value = raw.trim();
  if (/^".*"$/.test(value)) return JSON.parse(value) as string;
  if (/^'.*'$/.test(value)) return value.slice(1, -1).replace(/''/g, "'");
  return value;
}
