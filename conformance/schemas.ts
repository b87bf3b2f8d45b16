// JSON Schemas of the adapter protocol, generated from its Effect Schemas (one source of truth) so
// adapters in any language can validate what they read and write.
import * as Schema from "effect/Schema";
import { AdapterRequest, Reply, Vector } from "./protocol.ts";

export const SCHEMA_DIR = new URL("./schemas/", import.meta.url).pathname;

export const generateSchemas = (): Map<string, string> =>
  new Map(
    (
      [
        ["adapter-request.schema.json", AdapterRequest],
        ["adapter-reply.schema.json", Reply],
        ["vector.schema.json", Vector],
      ] as const
    ).map(([name, schema]) => {
      const document = Schema.toJsonSchemaDocument(schema);
      // A standalone draft 2020-12 schema: the document's shared definitions become $defs.
      const standalone = {
        $schema: "https://json-schema.org/draft/2020-12/schema",
        title: name.replace(/\.schema\.json$/, ""),
        ...document.schema,
        ...(Object.keys(document.definitions).length > 0 ? { $defs: document.definitions } : {}),
      };
      return [name, `${JSON.stringify(standalone, null, 2)}\n`];
    }),
  );
