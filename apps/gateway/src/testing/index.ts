export { type EventWriter, type EventWriterOptions, startEventWriter } from './event-writer.ts';
export { startGateway, type TestGateway } from './start-gateway.ts';
export { type GatewayFixture, type GatewayFixtureOptions, startGatewayWithRedis, useGateway } from './use-gateway.ts';
