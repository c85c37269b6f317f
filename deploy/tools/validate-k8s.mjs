#!/usr/bin/env node
// Offline schema validation of Kubernetes manifests with the `kubernetes-models` schemas (the
// OpenAPI schemas of Kubernetes and of the Prometheus Operator CRDs), a stand-in for kubeconform,
// which neither registry here offers. ESM because those packages are ESM-only. A CloudNativePG
// `Cluster` is checked against the small schema of cnpg-cluster-schema.mjs instead.
//
//   node deploy/tools/validate-k8s.mjs deploy/k8s            # every resource of a kustomization
//   node deploy/tools/validate-k8s.mjs some/manifest.yaml ... # these files
//
// Prints one JSON report on stdout: [{ file, apiVersion, kind, name, errors: [] }, ...]; exits 1
// when any document fails or has a kind without a schema here (fail closed), 2 on bad usage.
// Limits: the schemas do not forbid unknown fields (a misspelt optional field passes).
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import * as core from 'kubernetes-models/v1';
import * as apps from 'kubernetes-models/apps/v1';
import * as policy from 'kubernetes-models/policy/v1';
import * as monitoring from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { cnpgClusterProblems } from './cnpg-cluster-schema.mjs';

const models = new Map(
  [
    ['v1', core, ['ConfigMap', 'Secret', 'PersistentVolumeClaim', 'Service', 'ServiceAccount']],
    ['apps/v1', apps, ['Deployment', 'StatefulSet']],
    ['policy/v1', policy, ['PodDisruptionBudget']],
    ['monitoring.coreos.com/v1', monitoring, ['ServiceMonitor', 'PodMonitor', 'PrometheusRule']],
  ].flatMap(([apiVersion, module, kinds]) => kinds.map((kind) => [`${apiVersion}/${kind}`, module[kind]])),
);
// Kinds without a kubernetes-models type: a function returning the problems of a manifest.
const schemas = new Map([['postgresql.cnpg.io/v1/Cluster', cnpgClusterProblems]]);

function filesOf(target) {
  if (!statSync(target).isDirectory()) return [target];
  const kustomization = readDocuments(join(target, 'kustomization.yaml'))[0];
  const resources = kustomization?.resources;
  if (!Array.isArray(resources) || resources.length === 0)
    throw new Error(`${target}/kustomization.yaml lists no resources`);
  return resources.map((r) => join(target, r));
}

function readDocuments(file) {
  return parseAllDocuments(readFileSync(file, 'utf8'), { prettyErrors: true }).map((doc) => {
    if (doc.errors.length > 0)
      throw new Error(`${file}: YAML error: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS();
  });
}

function validate(file, manifest) {
  const entry = {
    file,
    apiVersion: manifest?.apiVersion,
    kind: manifest?.kind,
    name: manifest?.metadata?.name,
    errors: [],
  };
  const schema = schemas.get(`${entry.apiVersion}/${entry.kind}`);
  if (schema !== undefined) {
    entry.errors.push(...schema(manifest));
    return entry;
  }
  const Model = models.get(`${entry.apiVersion}/${entry.kind}`);
  if (Model === undefined) {
    entry.errors.push(`no schema here for apiVersion ${entry.apiVersion} kind ${entry.kind}`);
    return entry;
  }
  if (typeof entry.name !== 'string' || entry.name === '') entry.errors.push('metadata.name is missing');
  try {
    new Model(manifest).validate();
  } catch (error) {
    entry.errors.push(String(error?.message ?? error));
  }
  return entry;
}

const targets = process.argv.slice(2);
if (targets.length === 0) {
  process.stderr.write('usage: validate-k8s.mjs <kustomization dir | manifest.yaml>...\n');
  process.exit(2);
}
const report = [];
for (const target of targets) {
  for (const file of filesOf(resolve(target))) {
    try {
      for (const manifest of readDocuments(file))
        if (manifest !== null) report.push(validate(file, manifest));
    } catch (error) {
      report.push({ file, errors: [String(error?.message ?? error)] });
    }
  }
}
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
process.exit(report.length > 0 && report.every((r) => r.errors.length === 0) ? 0 : 1);
