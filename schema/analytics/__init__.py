"""The analytics area of the schema: flow series, totals, rankings, changes and look-through exposure."""
