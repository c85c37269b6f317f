#!/usr/bin/env node
// Writes deploy/k8s/prometheusrule.yaml from deploy/prometheus/trading-bot.rules.yml, so the
// Prometheus Operator gets exactly the rules plain Prometheus (compose, tests) evaluates.
// Run after editing the rule file:  node deploy/tools/sync-prometheus-rule.mjs
// test/deploy-manifests.e2e-spec.ts fails when the two differ.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
writeFileSync(join(deploy, 'k8s/prometheusrule.yaml'), header + stringify(resource, { lineWidth: 0 }));
