export { default, PLUGIN_NAME, type NftPluginOptions } from './plugin.js'
export { NftLbBackend, nftRunner, type NftRunner, type NftReader } from './backend.js'
export { buildBatch, deleteTableBatch, planNft, ruleOf, selectorFor, mapNameOf, totalWeight, TABLE, HASH_SEED, type NftPlan, type NftService } from './ruleset.js'
