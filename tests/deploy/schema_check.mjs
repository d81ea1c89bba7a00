#!/usr/bin/env node
// Offline schema checks of the deployment files, with no API server and no Grafana:
//   kubernetes FILE.yaml...   every document against the Kubernetes (kubernetes-models) and prometheus-operator
//                             (@kubernetes-models/prometheus-operator) models: their runtime validation (types,
//                             required fields) and a TypeScript type check of the document as an object literal,
//                             which is what rejects unknown fields such as a misspelled `readinesProbe`
//   dashboards FILE.json...   every Grafana dashboard against @grafana/schema of the Grafana version
//                             docker-compose.yml pins: the dashboard, its variables, and each panel's options,
//                             field config and Prometheus queries by panel type
// Usage: node schema_check.mjs --modules DIR [--expect-error TEXT] [--compose FILE] (kubernetes|dashboards) FILE...
// With --compose, the installed @grafana/schema must be the version of the grafana/grafana image FILE runs. DIR holds the node_modules installed by `npm ci` from this folder's package-lock.json. With --expect-error the
// check must fail and its report must contain TEXT (the negative tests); exit status 0 means as expected.
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

function usage(message) {
  console.error(`schema_check: ${message}\nusage: schema_check.mjs --modules DIR [--expect-error TEXT] [--compose FILE] (kubernetes|dashboards) FILE...`);
  process.exit(2);
}

const args = process.argv.slice(2);
let modulesDir = "";
let expectError = null;
let composeFile = "";
while (args[0]?.startsWith("--")) {
  const flag = args.shift();
  if (flag === "--modules") modulesDir = path.resolve(args.shift() ?? "");
  else if (flag === "--expect-error") expectError = args.shift() ?? "";
  else if (flag === "--compose") composeFile = args.shift() ?? "";
  else usage(`unknown flag ${flag}`);
}
const [mode, ...files] = args;
if (!modulesDir || !["kubernetes", "dashboards"].includes(mode) || files.length === 0) usage("missing arguments");

const require = createRequire(path.join(modulesDir, "package.json"));
const ts = require("typescript");
const YAML = require("yaml");

// Generated TypeScript sources are kept in memory, under modulesDir so module resolution finds node_modules.
const generated = new Map();
const problems = [];

// --- Kubernetes -----------------------------------------------------------------------------------------------

// The module of an apiVersion/kind pair, or null when neither package models it.
function kubernetesModule(apiVersion, kind) {
  const group = apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
  const base = group === "monitoring.coreos.com" ? "@kubernetes-models/prometheus-operator/" : "kubernetes-models/";
  const name = `${base}${apiVersion}/${kind}`;
  try {
    require.resolve(name);
    return name;
  } catch {
    return null;
  }
}

function checkKubernetes(file) {
  const documents = YAML.parseAllDocuments(readFileSync(file, "utf8"), { prettyErrors: true });
  const lines = [];
  documents.forEach((document, index) => {
    const where = `${file} document ${index + 1}`;
    if (document.errors.length > 0) {
      problems.push(`${where}: YAML: ${document.errors.map((e) => e.message).join("; ")}`);
      return;
    }
    const object = document.toJS();
    if (object === null) return;  // an empty document, e.g. after a trailing ---
    const module = kubernetesModule(String(object.apiVersion), String(object.kind));
    if (!module) {
      problems.push(`${where}: no schema for apiVersion ${object.apiVersion} kind ${object.kind}`);
      return;
    }
    // Runtime validation (JSON schema): types, formats, required fields.
    const Model = require(module)[object.kind];
    try {
      new Model(object).validate();
    } catch (error) {
      problems.push(`${where} (${object.kind} ${object.metadata?.name}): ${error.message}`);
    }
    // Type check: an object literal assigned to the model's interface may not carry unknown properties.
    lines.push(`import type { I${object.kind} as T${index} } from ${JSON.stringify(module)};`,
               `// ${where}`, `export const document${index}: T${index} = ${JSON.stringify(object, null, 2)};`);
  });
  return lines.join("\n");
}

// --- Grafana dashboards ---------------------------------------------------------------------------------------

const grafanaComposable = "@grafana/schema/dist/esm/raw/composable";

// The generated options types of a panel plugin (`state-timeline` -> statetimeline/StateTimelinePanelCfg).
function panelModule(type) {
  const dir = path.join(modulesDir, "node_modules", grafanaComposable, type.replaceAll("-", ""), "panelcfg", "x");
  try {
    const typesFile = readdirSync(dir).find((f) => f.endsWith("_types.gen.d.ts"));
    const text = readFileSync(path.join(dir, typesFile), "utf8");
    return {
      module: `${grafanaComposable}/${type.replaceAll("-", "")}/panelcfg/x/${typesFile.replace(/\.d\.ts$/, "")}`,
      hasOptions: /export interface Options\b/.test(text),
      hasFieldConfig: /export interface FieldConfig\b/.test(text),
    };
  } catch {
    return null;
  }
}

// Types shared by every generated dashboard module. @grafana/schema's own Panel types `options` and
// `targets` loosely (records of unknown) and lets `fieldConfig.defaults.custom` carry any key, so each panel is
// checked against a stricter shape built from the same types.
const dashboardPrelude = `
import type { Dashboard, Panel, RowPanel, FieldConfig, FieldConfigSource, VariableModel, VariableOption } from "@grafana/schema";
import type { PrometheusDataQuery } from "${grafanaComposable}/prometheus/dataquery/x/PrometheusDataQuery_types.gen";
type TypedPanel<O, F> = Omit<Panel, "options" | "fieldConfig" | "targets"> & {
  options?: O;
  fieldConfig?: Omit<FieldConfigSource, "defaults"> & { defaults: Omit<FieldConfig, "custom"> & { custom?: F } };
  targets?: PrometheusDataQuery[];
};
// Grafana itself saves a query variable's \`definition\` and an empty \`current\`, which the schema omits.
type SavedVariable = Omit<VariableModel, "current"> & { definition?: string; current?: VariableOption | Record<string, never> };
type SavedDashboard = Omit<Dashboard, "panels" | "templating"> & { templating?: { list?: SavedVariable[] } };
// JSON holds an enum's value ("absolute"), not the TypeScript enum member (ThresholdsMode.Absolute): string enums
// become the union of their values, everything else stays as the schema says.
type Json<T> = T extends string ? \`\${T}\` : T extends Array<infer U> ? Array<Json<U>> :
  T extends object ? { [K in keyof T]: Json<T[K]> } : T;
`;

function checkDashboard(file) {
  let dashboard;
  try {
    dashboard = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    problems.push(`${file}: ${error.message}`);
    return "";
  }
  const { panels = [], ...rest } = dashboard;
  const lines = [dashboardPrelude, `// ${file}`, `export const dashboard: Json<SavedDashboard> = ${JSON.stringify(rest, null, 2)};`];
  const imports = new Map();
  panels.forEach((panel, index) => {
    const where = `${file} panels[${index}] (${panel.type} "${panel.title}")`;
    let type;
    if (panel.type === "row") {
      type = "Omit<RowPanel, 'panels'> & { panels: Panel[] }";
    } else {
      const found = panelModule(String(panel.type));
      if (!found) {
        problems.push(`${where}: no schema for panel type ${panel.type}`);
        return;
      }
      const alias = `P_${String(panel.type).replaceAll("-", "_")}`;
      imports.set(alias, found.module);
      // A plugin without a FieldConfig of its own has no custom field config at all.
      type = `TypedPanel<${found.hasOptions ? `${alias}.Options` : "Record<string, never>"}, ` +
             `${found.hasFieldConfig ? `${alias}.FieldConfig` : "Record<string, never>"}>`;
    }
    lines.push(`// ${where}`, `export const panel${index}: Json<${type}> = ${JSON.stringify(panel, null, 2)};`);
  });
  for (const [alias, module] of imports) lines.unshift(`import type * as ${alias} from ${JSON.stringify(module)};`);
  return lines.join("\n");
}

// The dashboards are meant for the Grafana that docker-compose.yml runs: the schema must be that version's.
function checkGrafanaVersion(file) {
  const image = Object.values(YAML.parse(readFileSync(file, "utf8")).services ?? {})
    .map((service) => String(service.image ?? "")).find((name) => name.startsWith("grafana/grafana:"));
  const schemaVersion = require("@grafana/schema/package.json").version;
  if (!image) problems.push(`${file}: no grafana/grafana image`);
  else if (image.split(":")[1] !== schemaVersion) {
    problems.push(`${file} runs ${image}, but @grafana/schema is ${schemaVersion}: pin the same version in package.json`);
  }
}

// --- Type check -----------------------------------------------------------------------------------------------

if (composeFile) checkGrafanaVersion(composeFile);
files.forEach((file, index) => {
  const source = mode === "kubernetes" ? checkKubernetes(file) : checkDashboard(file);
  generated.set(path.join(modulesDir, "generated", `check${index}.ts`), source);
});

const options = {
  strict: true,
  noEmit: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.CommonJS,
  moduleResolution: ts.ModuleResolutionKind.Node10,
  skipLibCheck: true,
  types: [],
};
const host = ts.createCompilerHost(options);
const originalGetSourceFile = host.getSourceFile.bind(host);
host.getSourceFile = (name, language, ...rest) =>
  generated.has(name) ? ts.createSourceFile(name, generated.get(name), language, true)
                      : originalGetSourceFile(name, language, ...rest);
const originalFileExists = host.fileExists.bind(host);
host.fileExists = (name) => generated.has(name) || originalFileExists(name);
const originalReadFile = host.readFile.bind(host);
host.readFile = (name) => generated.get(name) ?? originalReadFile(name);

const program = ts.createProgram([...generated.keys()], options, host);
for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n  ");
  if (!diagnostic.file) {
    problems.push(message);
    continue;
  }
  // Name the checked file and document or panel (the nearest `// ` marker above) and quote the offending line.
  const text = diagnostic.file.text;
  const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
  const sourceLines = text.split("\n");
  let origin = "";
  for (let l = line; l >= 0 && !origin; l--) if (sourceLines[l].startsWith("// ")) origin = sourceLines[l].slice(3);
  problems.push(`${origin}: ${message}\n    at: ${sourceLines[line].trim()}`);
}

const report = problems.join("\n");
if (expectError !== null) {
  if (problems.length === 0) {
    console.error(`schema_check: expected a rejection mentioning "${expectError}", but every file passed`);
    process.exit(1);
  }
  if (!report.includes(expectError)) {
    console.error(`schema_check: rejected, but not for "${expectError}":\n${report}`);
    process.exit(1);
  }
  console.log(`schema_check: rejected as expected (${expectError}):\n${report}`);
  process.exit(0);
}
if (problems.length > 0) {
  console.error(report);
  console.error(`schema_check: ${problems.length} problem(s) in ${files.length} file(s)`);
  process.exit(1);
}
console.log(`schema_check: ${files.length} ${mode} file(s) valid`);
