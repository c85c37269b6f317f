/** The broker gateway port (`BrokerGateway` from @app/core). Only Mt5Module knows which adapter fills it. */
export const BROKER_GATEWAY = Symbol('BROKER_GATEWAY');
