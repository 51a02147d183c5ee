// GraphQL Code Generator: TypeScript types and typed documents from the committed SDL.
// The nine example operations (schema/examples) and the dashboard's queries become typed documents
// in src/gql/ (generated, git-ignored; `npm run codegen` writes it). graphql-request takes them as is.
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../schema/schema.graphql",
  documents: ["../schema/examples/*.graphql", "dashboard/**/*.ts"],
  ignoreNoDocuments: false,
  generates: {
    "src/gql/": {
      preset: "client",
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
    },
  },
};

export default config;
