/** ajv (JSON Schema draft-07) schema of the `bfd` section; the host validates the section after the parse. */
const track = {
  type: 'object',
  required: ['name', 'loc'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1 },
    weight: { type: 'integer', minimum: -253, maximum: 253 },
    reverse: { type: 'boolean' },
    loc: { type: 'string' },
  },
}

export const BFD_SCHEMA = {
  type: 'object',
  required: ['instances', 'vrrpInstances', 'syncGroups', 'checks'],
  additionalProperties: false,
  properties: {
    instances: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'family', 'neighbor', 'minRxUs', 'minTxUs', 'idleTxUs', 'multiplier', 'passive', 'multihop', 'ttl', 'maxHops', 'weight', 'reverse', 'toVrrp', 'toChecker', 'loc'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 31 },
          family: { enum: [4, 6] },
          neighbor: { type: 'string' },
          source: { type: 'string' },
          minRxUs: { type: 'integer', minimum: 1000, maximum: 1000000 },
          minTxUs: { type: 'integer', minimum: 1000, maximum: 1000000 },
          idleTxUs: { type: 'integer', minimum: 1000000, maximum: 10000000 },
          multiplier: { type: 'integer', minimum: 1, maximum: 10 },
          passive: { type: 'boolean' },
          multihop: { type: 'boolean' },
          ttl: { type: 'integer', minimum: 1, maximum: 255 },
          maxHops: { type: 'integer', minimum: 0, maximum: 255 },
          weight: { type: 'integer', minimum: -253, maximum: 253 },
          reverse: { type: 'boolean' },
          toVrrp: { type: 'boolean' },
          toChecker: { type: 'boolean' },
          loc: { type: 'string' },
        },
      },
    },
    vrrpInstances: { type: 'object', additionalProperties: { type: 'array', items: track } },
    syncGroups: { type: 'object', additionalProperties: { type: 'array', items: track } },
    checks: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
  },
} as const
