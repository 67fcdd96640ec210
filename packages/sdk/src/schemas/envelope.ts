import Type, { type Static } from 'typebox';
import { TENANT_ID_PATTERN } from '../tenant-id.ts';

/** Bound on string attributes, so that one attribute cannot fill a request on its own. */
const ATTRIBUTE_MAX = 4096;

/** Standard base64 (RFC 4648 §4), padded. */
const BASE64_PATTERN = '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$';

/**
 * Attribute names: lower-case letters and digits (CloudEvents 1.0 §"Attribute Naming Convention"),
 * plus `data_base64` from the JSON event format.
 */
export const ATTRIBUTE_NAME_PATTERN = '^(?:[a-z0-9]{1,20}|data_base64)$';

/** The attributes every CloudEvent carries, tenantcast's `tenantid` extension included. */
export const CloudEventAttributes = {
  id: Type.String({ minLength: 1, maxLength: ATTRIBUTE_MAX, description: 'Unique per source.' }),
  source: Type.String({ minLength: 1, maxLength: ATTRIBUTE_MAX, description: 'URI-reference of the producer.' }),
  specversion: Type.Literal('1.0'),
  type: Type.String({ minLength: 1, maxLength: 256 }),
  time: Type.Optional(Type.String({ format: 'date-time', description: 'RFC 3339 timestamp.' })),
  datacontenttype: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  dataschema: Type.Optional(Type.String({ format: 'uri', maxLength: ATTRIBUTE_MAX })),
  subject: Type.Optional(Type.String({ minLength: 1, maxLength: ATTRIBUTE_MAX })),
  tenantid: Type.String({ pattern: TENANT_ID_PATTERN, description: 'The tenant the event belongs to.' }),
  userid: Type.Optional(Type.String({ minLength: 1, maxLength: ATTRIBUTE_MAX })),
};

/** Extension attributes are scalars (CloudEvents 1.0 type system: String, Integer, Boolean). */
const ExtensionValue = Type.Union([Type.String({ maxLength: ATTRIBUTE_MAX }), Type.Integer(), Type.Boolean()]);

/** The CloudEvents 1.0 envelope as tenantcast accepts it; `data` is left open. */
export const CloudEventEnvelope = Type.Object(
  {
    ...CloudEventAttributes,
    data: Type.Optional(Type.Unknown()),
    data_base64: Type.Optional(Type.String({ contentEncoding: 'base64', pattern: BASE64_PATTERN })),
  },
  { additionalProperties: ExtensionValue, propertyNames: { pattern: ATTRIBUTE_NAME_PATTERN } },
);

/** A CloudEvent whose `data` has not been narrowed. */
export type CloudEvent<TType extends string = string, TData = unknown> = Omit<Static<typeof CloudEventEnvelope>, 'type' | 'data'> & {
  type: TType;
  data?: TData;
} & { [extension: string]: unknown };

/** The fields a caller supplies to build an event; `id`, `time` and `specversion` are filled in. */
export type EventFields<TData = unknown> = Omit<CloudEvent<string, TData>, 'type' | 'specversion' | 'id'> & {
  id?: string;
  specversion?: '1.0';
};
