// `npm start`: build if needed, then run the compiled service as a child that receives our
// signals (npm start is for development; containers run `node <entry>` directly).
const { spawn } = require('node:child_process');
const { entry, buildIfStale } = require('./build-if-stale.cjs');

buildIfStale();
const child = spawn(process.execPath, [entry], { stdio: 'inherit', env: process.env });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
