// A typed GraphQL call over GET (queries only), so the browser's HTTP cache and the endpoint's
// ETags apply. The documents are typed strings from GraphQL Code Generator (dashboard/gql).
import type { TypedDocumentString } from "./gql/graphql";

export class GraphQLRequestError extends Error {}

type Body<R> = { data?: R | null; errors?: { message: string; extensions?: { code?: string } }[] };

export async function query<R, V extends Record<string, unknown>>(
  endpoint: string,
  document: TypedDocumentString<R, V>,
  variables: V,
): Promise<R> {
  const url = new URL(endpoint, location.href);
  url.searchParams.set("query", document.toString());
  url.searchParams.set("variables", JSON.stringify(variables));
  const response = await fetch(url, {
    headers: { accept: "application/graphql-response+json, application/json;q=0.9" },
  });
  const body = (await response.json()) as Body<R>;
  if (body.errors?.length) {
    const codes = body.errors.map((e) => `${e.extensions?.code ?? "ERROR"}: ${e.message}`);
    throw new GraphQLRequestError(codes.join("; "));
  }
  if (!response.ok || body.data == null) throw new GraphQLRequestError(`HTTP ${response.status}`);
  return body.data;
}
