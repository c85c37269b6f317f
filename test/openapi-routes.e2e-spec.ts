import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RequestMethod, type INestApplication } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, ModulesContainer } from '@nestjs/core';
import { parse } from 'yaml';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * docs/service.openapi.yaml against the routes the real app registers, both ways: a route added
 * without documentation, or a documented operation that does not exist, fails here.
 *
 * Routes are read twice, from what Nest declares (controllers' path and method metadata) and
 * from what express actually routes (its router stack), and the two must agree, so neither
 * reading can silently miss a route. Path parameters are compared in OpenAPI form (`{id}`).
 */

const SPEC_PATH = join(__dirname, '..', 'docs', 'service.openapi.yaml');
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
/** Operations marked so may be absent from an app started with DEBUG_FAULTS=false. */
const DEBUG_ONLY = 'x-requires-debug-faults';

interface DocumentedOperation {
  route: string;
  debugOnly: boolean;
}

/** `GET /api/v1/signals/{id}/approve`: one route, comparable whatever syntax it came from. */
function routeKey(method: string, path: string): string {
  let normalised = `/${path}`
    .replace(/\/+/g, '/')
    .replace(/:([A-Za-z0-9_]+)/g, '{$1}')
    .replace(/\/$/, '');
  if (normalised === '') normalised = '/';
  return `${method.toUpperCase()} ${normalised}`;
}

/** Path metadata is a string or a list of strings; absent means the controller's root. */
function asArray(value: unknown): string[] {
  if (value === undefined) return [''];
  const paths: unknown[] = Array.isArray(value) ? value : [value];
  return paths.map((path) => {
    if (typeof path !== 'string') throw new Error(`unexpected path metadata ${JSON.stringify(path)}`);
    return path;
  });
}

/** Every route Nest declares: controller path x method path x request method, from the decorators' metadata. */
function nestRoutes(app: INestApplication): string[] {
  const discovery = new DiscoveryService(app.get(ModulesContainer));
  const scanner = new MetadataScanner();
  const routes: string[] = [];
  for (const wrapper of discovery.getControllers()) {
    const controller = wrapper.metatype as (new (...args: never[]) => object) | undefined;
    if (wrapper.instance === undefined || wrapper.instance === null || controller === undefined) continue;
    const prototype = Object.getPrototypeOf(wrapper.instance) as object;
    const bases = asArray(Reflect.getMetadata(PATH_METADATA, controller));
    for (const name of scanner.getAllMethodNames(prototype)) {
      const handler = (prototype as Record<string, unknown>)[name];
      if (typeof handler !== 'function') continue;
      const paths: unknown = Reflect.getMetadata(PATH_METADATA, handler);
      const method: unknown = Reflect.getMetadata(METHOD_METADATA, handler);
      if (paths === undefined || typeof method !== 'number') continue; // not a route handler
      const verbs =
        method === (RequestMethod.ALL as number)
          ? HTTP_METHODS.map((m) => m.toUpperCase())
          : [RequestMethod[method]];
      for (const base of bases)
        for (const path of asArray(paths))
          for (const verb of verbs) routes.push(routeKey(verb, `${base}/${path}`));
    }
  }
  return routes;
}

interface ExpressLayer {
  route?: { path?: unknown; methods?: Record<string, boolean> };
}

/**
 * What express routes: the route layers of its router. Middleware that Nest mounts for every
 * path (the request logger) is a route answering every method; it is no endpoint and is skipped.
 */
function expressRoutes(app: INestApplication): string[] {
  const instance = app.getHttpAdapter().getInstance() as {
    router?: { stack: ExpressLayer[] };
    _router?: { stack: ExpressLayer[] };
  };
  const stack = (instance.router ?? instance._router)?.stack;
  if (stack === undefined) throw new Error('express router stack not found (express changed?)');
  const routes: string[] = [];
  for (const layer of stack) {
    const path = layer.route?.path;
    const methods = Object.keys(layer.route?.methods ?? {}).filter((m) => layer.route?.methods?.[m]);
    if (typeof path !== 'string' || methods.length === 0) continue;
    if (methods.includes('_all') || HTTP_METHODS.every((m) => methods.includes(m))) continue;
    for (const method of methods) routes.push(routeKey(method, path));
  }
  return routes;
}

function registeredRoutes(app: INestApplication): string[] {
  const declared = [...new Set(nestRoutes(app))].sort();
  const routed = [...new Set(expressRoutes(app))].sort();
  expect(routed).toEqual(declared);
  return declared;
}

function documentedOperations(text = readFileSync(SPEC_PATH, 'utf8')): DocumentedOperation[] {
  const doc = parse(text) as { openapi?: unknown; paths?: Record<string, Record<string, unknown>> };
  expect(String(doc.openapi)).toMatch(/^3\.1\./);
  const operations: DocumentedOperation[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of HTTP_METHODS) {
      const operation = item[method] as Record<string, unknown> | undefined;
      if (operation === undefined) continue;
      operations.push({ route: routeKey(method, path), debugOnly: operation[DEBUG_ONLY] === true });
    }
  }
  return operations;
}

/** Both directions; `optional` routes may be documented without being registered. */
function differences(
  registered: readonly string[],
  documented: readonly DocumentedOperation[],
  optional: (op: DocumentedOperation) => boolean,
): { undocumented: string[]; missing: string[] } {
  const documentedRoutes = new Set(documented.map((op) => op.route));
  const registeredSet = new Set(registered);
  return {
    undocumented: registered.filter((route) => !documentedRoutes.has(route)),
    missing: documented.filter((op) => !registeredSet.has(op.route) && !optional(op)).map((op) => op.route),
  };
}

describe('docs/service.openapi.yaml matches the routes the service registers', () => {
  describe('with DEBUG_FAULTS=true (every route registered)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ DEBUG_FAULTS: 'true' });
    });
    afterAll(() => t.close());

    it('reads the same routes from Nest and from express, the known ones among them', () => {
      const routes = registeredRoutes(t.app);
      expect(routes).toEqual(
        expect.arrayContaining([
          'POST /api/v1/signals',
          'POST /api/v1/signals/{id}/approve',
          'GET /api/v1/status',
          'GET /health/live',
          'GET /metrics',
        ]),
      );
    });

    it('documents every registered route, and registers every documented operation', () => {
      const result = differences(registeredRoutes(t.app), documentedOperations(), () => false);
      expect(result).toEqual({ undocumented: [], missing: [] });
    });

    it('would notice a route documented but absent, and a route registered but not documented', () => {
      const text = readFileSync(SPEC_PATH, 'utf8');
      const doc = parse(text) as { paths: Record<string, unknown> };
      delete doc.paths['/metrics'];
      doc.paths['/api/v1/nowhere/{id}'] = { post: { responses: {} } };
      const result = differences(
        registeredRoutes(t.app),
        documentedOperations(JSON.stringify(doc)),
        () => false,
      );
      expect(result).toEqual({ undocumented: ['GET /metrics'], missing: ['POST /api/v1/nowhere/{id}'] });
    });
  });

  describe('with DEBUG_FAULTS=false', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ DEBUG_FAULTS: 'false' });
    });
    afterAll(() => t.close());

    it('documents every registered route; only debug operations may be missing', () => {
      const result = differences(registeredRoutes(t.app), documentedOperations(), (op) => op.debugOnly);
      expect(result).toEqual({ undocumented: [], missing: [] });
    });
  });
});
