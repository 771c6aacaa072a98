/** Reads a scenario file, YAML or JSON, and validates it. */
import { readFile } from "node:fs/promises";
import { parseDocument } from "yaml";
import { parseScenario, type Scenario } from "./scenario.js";
import { ScenarioError } from "./scenario-error.js";

/**
 * Loads and validates a scenario file (`.json` as JSON, anything else as YAML). Every failure,
 * unreadable file and syntax errors included, is a ScenarioError naming the file.
 */
export async function loadScenarioFile(path: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const why = typeof code === "string" ? code : String(error);
    throw new ScenarioError(path, [`cannot read the file (${why})`], { cause: error });
  }
  return parseScenario(parseText(path, text), path);
}

function parseText(path: string, text: string): unknown {
  if (path.toLowerCase().endsWith(".json")) {
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new ScenarioError(path, [`not valid JSON: ${message}`], { cause: error });
    }
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    throw new ScenarioError(
      path,
      doc.errors.map((e) => `not valid YAML: ${e.message.split("\n")[0] ?? e.code}`),
    );
  }
  return doc.toJS() as unknown;
}
