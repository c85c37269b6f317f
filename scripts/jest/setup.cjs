// Tests run in UTC so time-zone logic is exercised explicitly, never by accident of the machine.
process.env.TZ = 'UTC';
require('reflect-metadata');
