/** ajv schema of the `vrrp` section (checked after every parse). */
const str = { type: 'string' }
const int = { type: 'integer' }
const num = { type: 'number' }
const bool = { type: 'boolean' }
const arr = (items: object = {}) => ({ type: 'array', items })
const family = { enum: [4, 6] }

const instance = {
  type: 'object',
  required: ['name', 'state', 'vrid', 'priority', 'advertInt', 'family', 'vips', 'evips', 'routes', 'rules', 'preempt', 'unicastPeers', 'notify'],
  properties: {
    name: str,
    state: { enum: ['MASTER', 'BACKUP'] },
    interface: str,
    vrid: { type: 'integer', minimum: 0, maximum: 255 },
    priority: { type: 'integer', minimum: 1, maximum: 255 },
    advertInt: { type: 'number', exclusiveMinimum: 0 },
    version: { enum: [2, 3] },
    family,
    vips: arr({ type: 'object', required: ['address', 'family', 'prefixLength'], properties: { address: str, family, prefixLength: int } }),
    evips: arr({ type: 'object', required: ['address', 'family', 'prefixLength'] }),
    routes: arr({ type: 'object', required: ['family', 'to'] }),
    rules: arr({ type: 'object', required: ['family', 'priority'] }),
    preempt: bool,
    preemptDelay: { type: 'number', minimum: 0, maximum: 1000 },
    auth: { type: 'object', required: ['type', 'pass'], properties: { type: { enum: ['PASS', 'AH'] }, pass: { type: 'string', maxLength: 8 } } },
    unicastPeers: arr({ type: 'object', required: ['address'], properties: { address: str, minTtl: int, maxTtl: int } }),
    notify: { type: 'object' },
  },
}

export const VRRP_SCHEMA = {
  type: 'object',
  required: ['globals', 'instances', 'syncGroups', 'scripts'],
  properties: {
    globals: {
      type: 'object',
      required: ['mcastGroup4', 'mcastGroup6', 'version', 'downTimerAdverts'],
      properties: { mcastGroup4: str, mcastGroup6: str, version: { enum: [2, 3] }, downTimerAdverts: { type: 'integer', minimum: 1, maximum: 100 }, garpMasterDelay: num },
    },
    instances: arr(instance),
    syncGroups: arr({ type: 'object', required: ['name', 'group'], properties: { name: str, group: arr(str) } }),
    scripts: arr({ type: 'object', required: ['name', 'interval', 'weight', 'rise', 'fall'], properties: { weight: { type: 'integer', minimum: -253, maximum: 253 } } }),
    trackProcesses: arr({ type: 'object', required: ['name', 'quorum'] }),
    staticAddresses: arr(),
    staticRoutes: arr(),
    staticRules: arr(),
  },
}
