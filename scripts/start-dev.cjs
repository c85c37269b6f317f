// `npm start`: build if needed, then run the compiled service as a child that receives our
// signals (npm start is for development; containers run `node <entry>` directly).
// Without ACCOUNTS_FILE or MT5_GATEWAY it trades the paper accounts of config/demo-accounts.yaml
// on the demo channel, so http://localhost:3000/dashboard has something to show.
const { spawn } = require('node:child_process');
const { join } = require('node:path');
const { entry, buildIfStale } = require('./build-if-stale.cjs');

function demoDefaults(env) {
  if (env.ACCOUNTS_FILE !== undefined || env.MT5_GATEWAY !== undefined) return {};
  return {
    ACCOUNTS_FILE: join(__dirname, '..', 'config', 'demo-accounts.yaml'),
    // Its own state directory: a ./var of an earlier single-account run stays as it was.
    STATE_DIR: env.STATE_DIR ?? './var/demo',
    DEMO_SIGNALS_PER_MINUTE: env.DEMO_SIGNALS_PER_MINUTE ?? '30',
  };
}

buildIfStale();
const demo = demoDefaults(process.env);
if (demo.ACCOUNTS_FILE !== undefined)
  process.stdout.write(
    `npm start: demo paper accounts of config/demo-accounts.yaml; open http://localhost:${process.env.PORT ?? 3000}/dashboard\n`,
  );
const child = spawn(process.execPath, [entry], { stdio: 'inherit', env: { ...process.env, ...demo } });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
