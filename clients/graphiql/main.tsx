// GraphiQL for ConnectGraph, bundled by build.mjs into service/static/graphiql/ (no CDN).
// The page (service/web.py:graphiql_html) embeds a JSON config: the endpoint and the example
// operations from schema/examples, which open as one tab each with their variables filled in.
import { explorerPlugin } from "@graphiql/plugin-explorer";
import { createGraphiQLFetcher, type Storage } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import { createRoot } from "react-dom/client";

import "graphiql/style.css";
import "@graphiql/plugin-explorer/style.css";

type Example = { name: string; query: string; variables: Record<string, unknown> };
type Config = { endpoint: string; storageNamespace: string; examples: Example[] };

function readConfig(): Config {
  const element = document.getElementById("graphiql-config");
  if (!element?.textContent) throw new Error("missing #graphiql-config");
  return JSON.parse(element.textContent) as Config;
}

/** localStorage under a key prefix of our own, so state left by another GraphiQL on this origin
 * (e.g. strawberry's, which this one replaces) does not hide the example tabs. */
function namespacedStorage(prefix: string): Storage {
  const keys = () => Object.keys(localStorage).filter((key) => key.startsWith(prefix));
  return {
    getItem: (key) => localStorage.getItem(prefix + key),
    setItem: (key, value) => localStorage.setItem(prefix + key, value),
    removeItem: (key) => localStorage.removeItem(prefix + key),
    clear: () => keys().forEach((key) => localStorage.removeItem(key)),
    get length() {
      return keys().length;
    },
  };
}

const config = readConfig();
const fetcher = createGraphiQLFetcher({ url: new URL(config.endpoint, location.href).toString() });
const explorer = explorerPlugin({ showAttribution: false });
const tabs = config.examples.map((example) => ({
  query: example.query,
  variables: JSON.stringify(example.variables, null, 2),
}));

const root = document.getElementById("graphiql");
if (!root) throw new Error("missing #graphiql");
createRoot(root).render(
  <GraphiQL
    fetcher={fetcher}
    defaultTabs={tabs}
    plugins={[explorer]}
    storage={namespacedStorage(config.storageNamespace)}
    defaultEditorToolsVisibility="variables"
  />,
);

// Open the explorer once GraphiQL has drawn its sidebar. (GraphiQL 4's `visiblePlugin` prop selects
// the plugin but leaves its pane collapsed on first load; the sidebar button does both.)
const openExplorer = () => {
  const button = document.querySelector<HTMLButtonElement>(`button[aria-label="Show ${explorer.title}"]`);
  if (button) button.click();
  else requestAnimationFrame(openExplorer);
};
requestAnimationFrame(openExplorer);
