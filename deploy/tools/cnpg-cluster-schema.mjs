// The fields of a CloudNativePG `Cluster` (postgresql.cnpg.io/v1) that deploy/k8s-postgres/database
// uses, for validate-k8s.mjs: kubernetes-models has no CloudNativePG types, and the operator's CRD
// is not here to validate against. Other fields pass unchecked (the schema is loose, like the
// kubernetes-models ones).
import { z } from 'zod';

// A Kubernetes resource quantity such as 10Gi, 500M or 1.5Ti.
const quantity = z.string().regex(/^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/, 'a quantity such as 10Gi');
// DNS-1123 subdomain, as metadata.name must be.
const resourceName = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'a DNS-1123 name (lower case letters, digits, - and .)');
// A PostgreSQL identifier CloudNativePG accepts for the database and its owner.
const identifier = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a PostgreSQL identifier (lower case)');

export const cnpgClusterSchema = z.looseObject({
  apiVersion: z.literal('postgresql.cnpg.io/v1'),
  kind: z.literal('Cluster'),
  metadata: z.looseObject({ name: resourceName }),
  spec: z.looseObject({
    instances: z.number().int().min(1),
    storage: z.looseObject({ size: quantity, storageClass: z.string().min(1).optional() }),
    bootstrap: z.looseObject({
      initdb: z.looseObject({ database: identifier, owner: identifier }),
    }),
  }),
});

/** Problems of a Cluster manifest, one string per field: `spec/instances: ...`; none when valid. */
export function cnpgClusterProblems(manifest) {
  const result = cnpgClusterSchema.safeParse(manifest);
  if (result.success) return [];
  return result.error.issues.map((issue) => `${issue.path.join('/') || '(root)'}: ${issue.message}`);
}
