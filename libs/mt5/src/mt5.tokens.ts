// The broker ports' tokens live beside the ports, in the core.
export { BROKER_FLEET } from '@app/core';
