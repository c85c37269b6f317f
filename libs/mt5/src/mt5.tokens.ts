// The broker port's token lives beside the port, in the core.
export { BROKER_GATEWAY } from '@app/core';
