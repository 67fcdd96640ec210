import Type, { type Static } from 'typebox';

/** Data of `com.qlik.web-integration.created`, as Qlik's event catalog shows it. */
export const WebIntegrationCreatedData = Type.Object({
  id: Type.String({ description: 'Web integration identifier.' }),
  name: Type.String({ description: 'Web integration name.' }),
  validOrigins: Type.Array(Type.String(), { description: 'Origins allowed for the tenant.' }),
});

/** Data of `com.qlik.web-integration.deleted`. */
export const WebIntegrationDeletedData = Type.Object({
  id: Type.String({ description: 'Web integration identifier.' }),
});

/** One change in `com.qlik.web-integration.updated`; every field is optional in Qlik's catalog. */
export const WebIntegrationUpdate = Type.Object({
  property: Type.Optional(Type.String()),
  oldValue: Type.Optional(Type.String()),
  newValue: Type.Optional(Type.String()),
});

/** Data of `com.qlik.web-integration.updated`. */
export const WebIntegrationUpdatedData = Type.Object({
  id: Type.String({ description: 'Web integration identifier.' }),
  updates: Type.Array(WebIntegrationUpdate),
});

export type WebIntegrationCreatedData = Static<typeof WebIntegrationCreatedData>;
export type WebIntegrationDeletedData = Static<typeof WebIntegrationDeletedData>;
export type WebIntegrationUpdatedData = Static<typeof WebIntegrationUpdatedData>;

/** Event types of the web-integration catalog, in the current and the newer `core` naming. */
export const WebIntegrationTypes = {
  created: ['com.qlik.web-integration.created', 'com.qlik.core.web-integration.created'],
  updated: ['com.qlik.web-integration.updated', 'com.qlik.core.web-integration.updated'],
  deleted: ['com.qlik.web-integration.deleted', 'com.qlik.core.web-integration.deleted'],
} as const;

export type WebIntegrationCreatedType = (typeof WebIntegrationTypes.created)[number];
export type WebIntegrationUpdatedType = (typeof WebIntegrationTypes.updated)[number];
export type WebIntegrationDeletedType = (typeof WebIntegrationTypes.deleted)[number];
