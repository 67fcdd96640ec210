export { type HeldAnswer, type HeldRequest, type HeldUpload, holdUpload } from './held-upload.ts';
export { type Draft, publishDrafts } from './publish-drafts.ts';
export { startRelay, type TestRelay } from './start-relay.ts';
export { type RelayFixture, type RelayFixtureOptions, startRelayWithRedis, useRelay } from './use-relay.ts';
