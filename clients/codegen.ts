// GraphQL Code Generator: TypeScript types and typed documents from the committed SDL.
// The example operations (schema/examples) become typed documents in src/gql/, the dashboard's queries
// in dashboard/gql/ (both generated, git-ignored; `npm run codegen` writes them). graphql-request takes
// them as is.
import type { CodegenConfig } from "@graphql-codegen/cli";

// Two outputs, each with its own documents: the dashboard's bundle embeds its generated module, so it
// depends on the dashboard's documents only (a new example or field elsewhere leaves it byte for byte).
const config: CodegenConfig = {
  schema: "../schema/schema.graphql",
  ignoreNoDocuments: false,
  generates: {
    "src/gql/": { documents: ["../schema/examples/*.graphql"], ...output() },
    "dashboard/gql/": { documents: ["dashboard/*.ts"], ...output() },
  },
};

function output() {
  return {
    preset: "client" as const,
    presetConfig: { fragmentMasking: false },
    config: {
      // Documents as typed strings: no graphql-js printer in the browser bundle, and the bundle
      // depends on the dashboard's own documents only, not on the rest of the schema.
      documentMode: "string",
      // Date is an ISO string; Decimal is an exact decimal sent as a string (money is never a float).
      scalars: { Date: "string", Decimal: "string" },
      enumsAsTypes: true,
      useTypeImports: true,
      skipTypename: true,
    },
  };
}

export default config;
