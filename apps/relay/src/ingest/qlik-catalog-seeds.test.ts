import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { eventsApi, expectAccepted, expectError, STRUCTURED } from '../testing/events-api.ts';
import { useRelay } from '../testing/use-relay.ts';

// The example events of Qlik's catalog, accepted with their data checked.

const stack = useRelay();
const { post, postStructured, history } = eventsApi(stack);

describe('Qlik catalog seeds', () => {
  // The three example payloads of ../shared/seeds/web-integration-events.txt, as Qlik documents them.
  const seeds = [
    `{
"id": "A234-1234-1234",
"time": "2026-01-01T12:00:00Z",
"type": "com.qlik.web-integration.created",
"source": "com.qlik/my-service",
"specversion": "1.0",
"datacontenttype": "application/json",
"userid": "UZhiEfgW2bLd7HgR-jjzAh6VnicipweT",
"tenantid": "VZhiEfgW2bLd7HgR-jjzAh6VnicipweT",
"data": {
"id": "id123",
"name": "Api client 1",
"validOrigins": [
"http://unicorn.com",
"http://foo.example"
]
}
}`,
    `{
"id": "A234-1234-1234",
"time": "2026-01-01T12:00:00Z",
"type": "com.qlik.web-integration.deleted",
"source": "com.qlik/my-service",
"specversion": "1.0",
"datacontenttype": "application/json",
"userid": "UZhiEfgW2bLd7HgR-jjzAh6VnicipweT",
"tenantid": "VZhiEfgW2bLd7HgR-jjzAh6VnicipweT",
"data": {
"id": "id123"
}
}`,
    `{
"id": "A234-1234-1234",
"time": "2026-01-01T12:00:00Z",
"type": "com.qlik.web-integration.updated",
"source": "com.qlik/my-service",
"specversion": "1.0",
"datacontenttype": "application/json",
"userid": "UZhiEfgW2bLd7HgR-jjzAh6VnicipweT",
"tenantid": "VZhiEfgW2bLd7HgR-jjzAh6VnicipweT",
"data": {
"id": "id123",
"updates": [
{
"newValue": "Web Integration 2",
"oldValue": "Web Integration 1",
"property": "name"
}
]
}
}`,
  ];

  test('each seed is accepted, with its data checked against its type', async (t) => {
    // A strict relay of its own: the seeds share one tenant, source and id, and every type must be known.
    const strict = await stack.startRelay(t, { strictEventTypes: true });
    for (const [i, seed] of seeds.entries()) {
      // Qlik posts application/json; structured mode must read it the same.
      const contentType = i === 0 ? 'application/json' : STRUCTURED;
      const [item] = await expectAccepted(await post(seed, { 'content-type': contentType }, { url: strict.url }), 1);
      assert.equal(item!.id, 'A234-1234-1234');
      assert.equal(item!.source, 'com.qlik/my-service');
      // The catalog's examples reuse one (source, id), so the later ones are duplicates of the first.
      assert.equal(item!.duplicate, i > 0);
      // Breaking the seed's data is refused: the acceptance above is not envelope-only.
      const broken = JSON.parse(seed) as { data: Record<string, unknown> };
      broken.data = {};
      const error = await expectError(await postStructured(broken, { url: strict.url }), 400, 'TC_ERR_VALIDATION');
      assert.ok(
        error.details?.some((d) => d.path.startsWith('/data/')),
        JSON.stringify(error.details),
      );
    }
    const [stored] = await history('VZhiEfgW2bLd7HgR-jjzAh6VnicipweT', strict.url);
    assert.deepEqual(stored?.event, JSON.parse(seeds[0]!));
  });
});
