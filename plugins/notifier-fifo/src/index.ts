export { default, PLUGIN_NAME, type FifoPluginOptions } from './plugin.js'
export { fifoLine } from './lines.js'
export { FifoWriter, type FifoStats } from './fifo-writer.js'
export { fifoSection, type FifoSection, type FifoSpec } from './config.js'
