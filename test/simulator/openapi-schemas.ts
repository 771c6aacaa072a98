/**
 * The simulator's answers checked against an official OpenAPI extract: one ajv instance per
 * extract, and a look-up of its component schemas that throws when a name is not there.
 */
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";

// ajv-formats is CommonJS: under NodeNext its default export is the module object.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

/** Returns `schema(name)`, the validator of `#/components/schemas/<name>` of `spec`. */
export function openApiSchemas(spec: object): (name: string) => ValidateFunction {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(spec, "spec.json");
  return (name) => {
    const validate = ajv.getSchema(`spec.json#/components/schemas/${name}`);
    if (!validate) throw new Error(`no schema ${name}`);
    return validate;
  };
}
