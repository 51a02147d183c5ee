// The dashboard's GraphQL documents: the public API only. `npm run codegen` types them (dashboard/gql).
import { graphql } from "./gql";

export const SouthboundFlows = graphql(`
  query DashboardSouthboundFlows($days: Int) {
    connectFlows(direction: SOUTHBOUND, lastTradingDays: $days) {
      tradingDay
      currency
      netBuy
      runningNetBuy
    }
  }
`);

export const TopCreations = graphql(`
  query DashboardTopCreations($from: Date, $to: Date, $first: Int!) {
    topEtfsByNetCreation(from: $from, to: $to, first: $first) {
      rank
      netCreationValue
      currency
      firstDay
      lastDay
      etf {
        code
        name
        issuer {
          shortName
        }
      }
    }
  }
`);

export const IndexList = graphql(`
  query DashboardIndexList {
    indices(first: 100, orderBy: { field: CODE }) {
      nodes {
        code
        name
      }
    }
  }
`);

export const Constituents = graphql(`
  query DashboardConstituents($code: String!, $asOf: Date!) {
    index(code: $code) {
      code
      name
      totalWeightPct(asOf: $asOf)
      constituents(asOf: $asOf) {
        weightPct
        effectiveFrom
        security {
          code
          name
          sector
        }
      }
    }
  }
`);

export const EligibilityChanges = graphql(`
  query DashboardEligibilityChanges($direction: ConnectDirection!, $from: Date!, $to: Date!) {
    eligibilityChanges(direction: $direction, from: $from, to: $to) {
      channel
      kind
      statusBefore
      statusAfter
      etf {
        code
        name
      }
    }
  }
`);
