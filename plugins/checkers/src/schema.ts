/** JSON schema (ajv) of the `checkers` section; validated by the host after the parse. */
const script = {
  type: 'object',
  required: ['command'],
  properties: { command: { type: 'string' }, user: { type: 'string' }, group: { type: 'string' } },
  additionalProperties: false,
}
const family = { enum: [4, 6] }
const port = { type: 'integer', minimum: 0, maximum: 65535 }
const timer = { type: 'number', minimum: 0 }
const method = { enum: ['NAT', 'DR', 'TUN'] }
const tunnel = {
  type: 'object',
  required: ['type'],
  properties: { type: { enum: ['ipip', 'gue', 'gre'] }, port, checksum: { enum: ['nocsum', 'csum', 'remcsum'] } },
  additionalProperties: false,
}
const timing = {
  delayLoop: timer,
  connectTimeout: timer,
  retry: { type: 'integer', minimum: 0 },
  delayBeforeRetry: timer,
  warmup: timer,
}
const checkerBlock = {
  type: 'object',
  required: ['type', 'common', 'options'],
  properties: {
    type: { type: 'string' },
    loc: { type: 'string' },
    options: { type: 'object' },
    common: {
      type: 'object',
      properties: {
        ...timing,
        connectIp: { type: 'string' },
        connectPort: port,
        bindTo: { type: 'string' },
        bindIf: { type: 'string' },
        bindPort: port,
        fwmark: { type: 'integer', minimum: 0 },
        alpha: { type: 'boolean' },
        logAllFailures: { type: 'boolean' },
      },
      additionalProperties: false,
    },
  },
  additionalProperties: false,
}
const realServer = {
  type: 'object',
  required: ['family', 'address', 'port', 'weight', 'checkers'],
  properties: {
    ...timing,
    family,
    address: { type: 'string' },
    port,
    weight: { type: 'integer', minimum: 0 },
    method,
    tunnel,
    notifyUp: script,
    notifyDown: script,
    inhibitOnFailure: { type: 'boolean' },
    alpha: { type: 'boolean' },
    uthreshold: { type: 'integer', minimum: 0 },
    lthreshold: { type: 'integer', minimum: 0 },
    smtpAlert: { type: 'boolean' },
    virtualhost: { type: 'string' },
    snmpName: { type: 'string' },
    checkers: { type: 'array', items: checkerBlock },
    loc: { type: 'string' },
  },
  additionalProperties: false,
}
export const CHECKERS_SCHEMA = {
  type: 'object',
  required: ['virtualServers', 'groups'],
  properties: {
    virtualServers: {
      type: 'array',
      items: {
        type: 'object',
        required: ['kind', 'protocol', 'scheduler', 'schedulerFlags', 'method', 'quorum', 'hysteresis', 'realServers'],
        properties: {
          ...timing,
          kind: { enum: ['ip', 'fwmark', 'group'] },
          family,
          address: { type: 'string' },
          port,
          fwmark: { type: 'integer', minimum: 0 },
          group: { type: 'string' },
          protocol: { enum: ['TCP', 'UDP', 'SCTP', null] },
          scheduler: { type: 'string' },
          schedulerFlags: { type: 'array', items: { type: 'string' } },
          method,
          tunnel,
          persistence: {
            type: 'object',
            properties: { timeout: { type: 'integer', minimum: 0 }, granularity: { type: 'string' }, engine: { type: 'string' } },
            additionalProperties: false,
          },
          quorum: { type: 'integer', minimum: 0 },
          hysteresis: { type: 'integer', minimum: 0 },
          quorumUp: script,
          quorumDown: script,
          sorryServer: {
            type: 'object',
            required: ['family', 'address', 'port', 'inhibit'],
            properties: { family, address: { type: 'string' }, port, inhibit: { type: 'boolean' }, method, tunnel },
            additionalProperties: false,
          },
          inhibitOnFailure: { type: 'boolean' },
          alpha: { type: 'boolean' },
          omega: { type: 'boolean' },
          haSuspend: { type: 'boolean' },
          smtpAlert: { type: 'boolean' },
          virtualhost: { type: 'string' },
          snmpName: { type: 'string' },
          weight: { type: 'integer', minimum: 0 },
          realServers: { type: 'array', items: realServer },
          loc: { type: 'string' },
        },
        additionalProperties: false,
      },
    },
    groups: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'entries'],
        properties: {
          name: { type: 'string' },
          entries: {
            type: 'array',
            items: {
              type: 'object',
              required: ['kind'],
              properties: {
                kind: { enum: ['range', 'fwmark'] },
                family,
                address: { type: 'string' },
                last: { type: 'string' },
                port,
                fwmark: { type: 'integer', minimum: 0 },
              },
              additionalProperties: false,
            },
          },
        },
        additionalProperties: false,
      },
    },
    ssl: {
      type: 'object',
      properties: { password: { type: 'string' }, ca: { type: 'string' }, certificate: { type: 'string' }, key: { type: 'string' } },
      additionalProperties: false,
    },
  },
  additionalProperties: false,
} as const
