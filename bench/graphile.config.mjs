// PostGraphile for bench/run: the amber preset plus postgraphile-plugin-connection-filter (pinned in
// package.json), with filters across relations on, as a PostGraphile user asking the list questions
// (L1-L3) would configure it. The connection, schemas and port come from the command line.
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { PostGraphileConnectionFilterPreset } from "postgraphile-plugin-connection-filter";

export default {
  extends: [PostGraphileAmberPreset, PostGraphileConnectionFilterPreset],
  // Amber filters and sorts only by indexed columns (PgIndexBehaviorsPlugin); the list questions filter
  // by name and dates as a user of the plugin expects to, so that guard is off, as the plugin's docs say.
  disablePlugins: ["PgIndexBehaviorsPlugin"],
  schema: { connectionFilterRelations: true },
};
