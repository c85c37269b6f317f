#!/usr/bin/env node
// Writes deploy/k8s/prometheusrule.yaml and its copy in deploy/k8s-postgres from
// deploy/prometheus/trading-bot.rules.yml, so the Prometheus Operator gets exactly the rules
// plain Prometheus (compose, tests) evaluates.
// Run after editing the rule file:  node deploy/tools/sync-prometheus-rule.mjs
// test/deploy-manifests.e2e-spec.ts fails when the two differ.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { parse, stringify } from 'yaml';

const deploy = join(dirname(fileURLToPath(import.meta.url)), '..');
const rules = parse(readFileSync(join(deploy, 'prometheus/trading-bot.rules.yml'), 'utf8'));
const resource = {
  apiVersion: 'monitoring.coreos.com/v1',
  kind: 'PrometheusRule',
  metadata: { name: 'trading-bot', labels: { 'app.kubernetes.io/name': 'trading-bot' } },
  spec: { groups: rules.groups },
};
const header = [
  '# GENERATED from deploy/prometheus/trading-bot.rules.yml by deploy/tools/sync-prometheus-rule.mjs;',
  '# edit the rule file and rerun it (a test fails when the two differ).',
  '# Your Prometheus selects PrometheusRules by label (kube-prometheus-stack: `release: <helm release name>`).',
  '',
].join('\n');
const text = header + stringify(resource, { lineWidth: 0 });
writeFileSync(join(deploy, 'k8s/prometheusrule.yaml'), text);
// The copy for deploy/k8s-postgres is formatted as Prettier checks it (only the original is in
// .prettierignore); its content is the same, which the test compares.
const copy = join(deploy, 'k8s-postgres/prometheusrule.yaml');
const options = (await prettier.resolveConfig(copy)) ?? {};
writeFileSync(copy, await prettier.format(text, { ...options, filepath: copy }));
