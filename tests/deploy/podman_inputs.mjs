#!/usr/bin/env node
// Turns the shipped deployment files into what `make container-test` hands to podman, so the test runs what
// they say rather than a copy of it:
//   compose-args FILE SERVICE FIELD
//       one line per entry of a docker-compose service's command or volumes (FIELD), with relative volume
//       sources made absolute against FILE's folder; its entrypoint as one JSON line (podman's --entrypoint);
//       its user as one line
//   kube-pod FILE IMAGE POD_NAME SECRETS_DIR
//       the StatefulSet of FILE as the Pod its controller would create (podman runs Pods, not StatefulSets),
//       followed by FILE's ConfigMaps. Test-only changes, each because podman 4.3 cannot do otherwise here:
//       the image is IMAGE; Secret volumes become hostPath volumes of SECRETS_DIR/<secretName> (podman crashes
//       on Secret volumes); container ports are dropped (refused without a bridge network) after named probe
//       ports are resolved to their numbers; HTTPS probes become exec probes running curl without certificate
//       checks, which is what the kubelet's HTTPS probes do (podman's own would check the certificate).
// Usage: node podman_inputs.mjs --modules DIR (compose-args|kube-pod) ARGS...
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const args = process.argv.slice(2);
if (args[0] !== "--modules" || args.length < 3) {
  console.error("usage: podman_inputs.mjs --modules DIR (compose-args FILE SERVICE FIELD | kube-pod FILE IMAGE POD_NAME SECRETS_DIR)");
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(args[1]), "package.json"));
const YAML = require("yaml");
const [mode, file, ...rest] = args.slice(2);

function fail(message) {
  console.error(`podman_inputs: ${message}`);
  process.exit(1);
}

function composeArgs(service, field) {
  const compose = YAML.parse(readFileSync(file, "utf8"));
  const definition = compose.services?.[service];
  if (!definition) fail(`${file} has no service ${service}`);
  let value = definition[field] ?? [];
  if (field === "user") {
    if (value.length !== 0) console.log(String(value));
    return;
  }
  if (typeof value === "string") fail(`${file}: ${service}.${field} must be a list (exec form)`);
  if (field === "volumes") {
    value = value.map((volume) => {
      const [source, ...target] = String(volume).split(":");
      return [source.startsWith(".") ? path.resolve(path.dirname(file), source) : source, ...target].join(":");
    });
  }
  if (field === "entrypoint") {
    if (value.length > 0) console.log(JSON.stringify(value.map(String)));
    return;
  }
  for (const entry of value) console.log(String(entry));
}

function kubePod(image, podName, secretsDir) {
  const documents = YAML.parseAllDocuments(readFileSync(file, "utf8")).map((d) => d.toJS()).filter(Boolean);
  const statefulSet = documents.find((d) => d.kind === "StatefulSet");
  if (!statefulSet) fail(`${file} has no StatefulSet`);
  const template = structuredClone(statefulSet.spec.template);
  for (const container of template.spec.containers) {
    container.image = image;
    const ports = new Map((container.ports ?? []).map((p) => [p.name, p.containerPort]));
    for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
      const httpGet = container[probe]?.httpGet;
      if (httpGet && typeof httpGet.port === "string") {
        if (!ports.has(httpGet.port)) fail(`${probe} names port ${httpGet.port}, which the container does not declare`);
        httpGet.port = ports.get(httpGet.port);
      }
      if (httpGet?.scheme === "HTTPS") {
        container[probe].exec = { command: ["curl", "-fsSk", `https://127.0.0.1:${httpGet.port}${httpGet.path}`] };
        delete container[probe].httpGet;
      }
    }
    delete container.ports;
  }
  for (const volume of template.spec.volumes ?? []) {
    if (volume.secret) {
      volume.hostPath = { path: path.join(secretsDir, volume.secret.secretName), type: "Directory" };
      delete volume.secret;
    }
  }
  // Each replica's volume claim: a directory of the test's own, as a provisioned volume would be.
  for (const claim of statefulSet.spec.volumeClaimTemplates ?? []) {
    template.spec.volumes = [...(template.spec.volumes ?? []),
      { name: claim.metadata.name, hostPath: { path: path.join(secretsDir, "claims", claim.metadata.name), type: "Directory" } }];
  }
  const pod = { apiVersion: "v1", kind: "Pod", metadata: { ...template.metadata, name: podName }, spec: template.spec };
  const configMaps = documents.filter((d) => d.kind === "ConfigMap");
  process.stdout.write([pod, ...configMaps].map((d) => YAML.stringify(d)).join("---\n"));
}

if (mode === "compose-args" && rest.length === 2) composeArgs(...rest);
else if (mode === "kube-pod" && rest.length === 3) kubePod(...rest);
else fail(`bad arguments for ${mode}`);
