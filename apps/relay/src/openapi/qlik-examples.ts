// The example payloads of Qlik's event catalog for web integrations (created, updated, deleted), as
// Qlik documents them; qlik-catalog-seeds.test.ts posts the same three to the relay. The OpenAPI
// document shows them as the examples of `POST /v1/qlik/webhook` and `POST /v1/events`.

const envelope = {
  id: 'A234-1234-1234',
  time: '2026-01-01T12:00:00Z',
  source: 'com.qlik/my-service',
  specversion: '1.0',
  datacontenttype: 'application/json',
  userid: 'UZhiEfgW2bLd7HgR-jjzAh6VnicipweT',
  tenantid: 'VZhiEfgW2bLd7HgR-jjzAh6VnicipweT',
} as const;

/** Named examples, in the form of an OpenAPI Media Type Object's `examples`. */
export const QLIK_EXAMPLES = {
  'web-integration.created': {
    summary: 'Web integration created',
    value: {
      ...envelope,
      type: 'com.qlik.web-integration.created',
      data: { id: 'id123', name: 'Api client 1', validOrigins: ['http://unicorn.com', 'http://foo.example'] },
    },
  },
  'web-integration.updated': {
    summary: 'Web integration updated',
    value: {
      ...envelope,
      type: 'com.qlik.web-integration.updated',
      data: { id: 'id123', updates: [{ newValue: 'Web Integration 2', oldValue: 'Web Integration 1', property: 'name' }] },
    },
  },
  'web-integration.deleted': {
    summary: 'Web integration deleted',
    value: { ...envelope, type: 'com.qlik.web-integration.deleted', data: { id: 'id123' } },
  },
};
