// The official AsyncAPI parser on Qianshou's AsyncAPI documents, as an integrator runs it.
// Usage: node validate.mjs FILE...   Prints one JSON line per document:
//   {"file": ..., "errors": N, "warnings": N, "diagnostics": [errors and warnings]}
// and exits 1 when any document has an error.
import { readFile } from "node:fs/promises";
import { Parser } from "@asyncapi/parser";

const SEVERITY = ["error", "warning", "information", "hint"];
const parser = new Parser();
let failed = false;
for (const file of process.argv.slice(2)) {
  const { document, diagnostics } = await parser.parse(await readFile(file, "utf8"));
  const serious = diagnostics.filter((d) => d.severity <= 1);
  const errors = serious.filter((d) => d.severity === 0).length;
  failed ||= errors > 0 || document === undefined;
  console.log(
    JSON.stringify({
      file,
      parsed: document !== undefined,
      errors,
      warnings: serious.length - errors,
      diagnostics: serious.map((d) => ({
        severity: SEVERITY[d.severity],
        code: d.code,
        path: d.path.join("/"),
        message: d.message,
      })),
    }),
  );
}
process.exit(failed ? 1 : 0);
