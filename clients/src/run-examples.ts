// Runs the nine example operations (schema/examples) against a running service with graphql-request,
// typed end to end: the documents and their result types come from GraphQL Code Generator (src/gql),
// and the example variables (variables.json) are checked by tsc against each operation's variables.
// Usage: tsx src/run-examples.ts [endpoint]   (default $CONNECTGRAPH_URL or http://127.0.0.1:8000/graphql)
// Prints one JSON line per operation; exits 1 if any operation fails or returns errors.
import { ClientError, GraphQLClient } from "graphql-request";

import examples from "../../schema/examples/variables.json" with { type: "json" };
import {
  AumHistoryDocument,
  BigSouthboundDaysDocument,
  ConstituentsAsOfDocument,
  EtfWithTopConstituentsDocument,
  IndexLicenseesDocument,
  SecurityExposureDocument,
  SouthboundEligibleDocument,
  SouthboundFlowDocument,
  TopCreationsDocument,
} from "./gql/graphql";
import type { Currency } from "./gql/graphql";

const endpoint = process.argv[2] ?? process.env.CONNECTGRAPH_URL ?? "http://127.0.0.1:8000/graphql";
const client = new GraphQLClient(endpoint);

// JSON gives plain strings; an enum variable is narrowed by a guard that tsc keeps exhaustive.
const currencies = { CNY: true, HKD: true, KRW: true, USD: true } satisfies Record<Currency, true>;
function currency(value: string): Currency {
  if (!(value in currencies)) throw new Error(`not a Currency: ${value}`);
  return value as Currency;
}

/** A value the example must return: a null here (not found, or not allowed) fails the operation. */
function need<T>(value: T | null | undefined, what: string): T {
  if (value == null) throw new Error(`${what} is null`);
  return value;
}

// Each check returns a one-line summary; a typo in a field name here fails `tsc`, not the run.
const operations: Record<string, () => Promise<string>> = {
  async EtfWithTopConstituents() {
    const data = await client.request(EtfWithTopConstituentsDocument, examples.q1_etf_with_index_top10);
    const etf = need(data.etf, "etf");
    const index = need(etf.trackedIndex, "etf.trackedIndex");
    const top = index.constituents;
    return `${etf.name} (${etf.issuer.shortName}) tracks ${index.code}: top ${top.length}, first ${top[0]?.security.name}`;
  },
  async ConstituentsAsOf() {
    const data = await client.request(ConstituentsAsOfDocument, examples.q2_constituents_as_of);
    const index = need(data.index, "index");
    return `${index.code} on ${examples.q2_constituents_as_of.asOf}: ${index.constituents.length} members, ${index.totalWeightPct}%`;
  },
  async SouthboundEligible() {
    const data = await client.request(SouthboundEligibleDocument, examples.q3_southbound_eligible);
    const eligible = need(data.connectEligibility, "connectEligibility");
    const changes = need(data.eligibilityChanges, "eligibilityChanges");
    return `${eligible.length} eligible (Shanghai), ${changes.length} changes`;
  },
  async SouthboundFlow() {
    const data = await client.request(SouthboundFlowDocument, examples.q4_southbound_flow_running);
    const days = need(data.connectFlows, "connectFlows");
    const last = days.at(-1);
    return `${days.length} days to ${last?.tradingDay}, running net ${last?.runningNetBuy} ${last?.currency}`;
  },
  async TopCreations() {
    const data = await client.request(TopCreationsDocument, examples.q5_top_creations_by_theme);
    const ranks = need(data.topEtfsByNetCreation, "topEtfsByNetCreation");
    const top = ranks[0];
    return `${ranks.length} ranked; #1 ${top?.etf?.code} ${top?.netCreationValue} ${top?.currency}`;
  },
  async AumHistory() {
    const variables = { ...examples.q6_aum_history, currency: currency(examples.q6_aum_history.currency) };
    const data = await client.request(AumHistoryDocument, variables);
    const etf = need(data.etf, "etf");
    const history = need(etf.aumHistory, "etf.aumHistory");
    const last = history.at(-1);
    return `${etf.code}: ${history.length} months, last ${last?.aum} ${last?.currency}`;
  },
  async IndexLicensees() {
    const data = await client.request(IndexLicenseesDocument, examples.q7_index_licensees);
    const index = need(data.index, "index");
    const launched = index.licences.filter((licence) => licence.hasLaunchedProduct).length;
    return `${index.code}: ${index.licences.length} licences, ${launched} with products`;
  },
  async BigSouthboundDays() {
    const data = await client.request(BigSouthboundDaysDocument, examples.q8_big_southbound_days);
    const days = need(data.connectFlows, "connectFlows");
    return `${days.length} days above ${examples.q8_big_southbound_days.threshold}`;
  },
  async SecurityExposure() {
    const data = await client.request(SecurityExposureDocument, examples.q9_security_exposure);
    const security = need(data.security, "security");
    const etfs = new Set(security.indexMemberships.flatMap((m) => m.index.etfs.map((etf) => etf.code)));
    return `${security.name}: in ${security.indexMemberships.length} indices, ${etfs.size} ETFs exposed`;
  },
};

let failed = 0;
for (const [operation, run] of Object.entries(operations)) {
  const started = performance.now();
  try {
    const summary = await run();
    const ms = Math.round(performance.now() - started);
    console.log(JSON.stringify({ operation, ok: true, ms, summary }));
  } catch (error) {
    failed += 1;
    const message =
      error instanceof ClientError
        ? JSON.stringify(error.response.errors ?? error.response)
        : String(error);
    console.log(JSON.stringify({ operation, ok: false, error: message }));
  }
}
process.exit(failed ? 1 : 0);
